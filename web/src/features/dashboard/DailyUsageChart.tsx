import { Bar, CartesianGrid, Legend, Line, ResponsiveContainer, Tooltip, XAxis, YAxis, ComposedChart } from "recharts";
import type { DailyPoint } from "./daily";

/** Daily usage of one metric, this period (bars) against the previous one (line). Loaded on demand. */
export default function DailyUsageChart({ points, metric }: { points: DailyPoint[]; metric: string }) {
  return (
    <figure className="chart" aria-label={`Daily ${metric}, this period and the previous one`}>
      <ResponsiveContainer width="100%" height={240}>
        <ComposedChart data={points} margin={{ top: 8, right: 8, bottom: 8, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="day" label={{ value: "Day of period", position: "insideBottom", offset: -4 }} />
          <YAxis width={56} />
          <Tooltip />
          <Legend verticalAlign="top" />
          <Bar dataKey="current" name="This period (settled)" stackId="day" fill="#1f4fd6" isAnimationActive={false} />
          <Bar dataKey="provisional" name="Today, live (provisional)" stackId="day" fill="#e0a100" isAnimationActive={false} />
          <Line dataKey="previous" name="Previous period" stroke="#8a5a00" dot={false} connectNulls isAnimationActive={false} />
        </ComposedChart>
      </ResponsiveContainer>
    </figure>
  );
}

