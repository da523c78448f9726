import { Area, CartesianGrid, ComposedChart, Legend, Line, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { BandPoint } from "./band";

// Running totals reach the millions: compact ticks (160K) fit the axis at phone width.
const compact = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 });

/** The period's running total of one metric: settled (solid), then expected (dashed) inside its 80 % band
 * to the period end. Loaded on demand, like the daily usage chart. */
export default function ForecastChart({ points, metric }: { points: BandPoint[]; metric: string }) {
  return (
    <figure className="chart" aria-label={`${metric} this period: settled so far, then the forecast to the period end`}>
      <ResponsiveContainer width="100%" height={240}>
        <ComposedChart data={points} margin={{ top: 8, right: 8, bottom: 8, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="day" label={{ value: "Day of period", position: "insideBottom", offset: -4 }} />
          <YAxis width={56} tickFormatter={(v: number) => compact.format(v)} />
          <Tooltip />
          <Legend verticalAlign="top" />
          <Area dataKey="band" name="80 % range" stroke="none" fill="#9db4f0" fillOpacity={0.45} isAnimationActive={false} />
          <Line dataKey="actual" name="Settled so far" stroke="#1f4fd6" strokeWidth={2} dot={false} isAnimationActive={false} />
          <Line
            dataKey="expected"
            name="Expected"
            stroke="#1f4fd6"
            strokeWidth={2}
            strokeDasharray="6 4"
            dot={false}
            isAnimationActive={false}
          />
        </ComposedChart>
      </ResponsiveContainer>
    </figure>
  );
}
