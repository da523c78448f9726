import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { OrgAnalytics } from "./queries";
import { useNames } from "../../api/plans";

const COLOURS = ["#1f4fd6", "#8a5a00", "#0b5a22", "#8c0014", "#5b2a86", "#00627a"];

/** Cost by month (invoiced, the AI's cost, what AI features were charged) and usage by module. Loaded on demand. */
export default function TrendCharts({ data }: { data: OrgAnalytics }) {
  const names = useNames();
  const cost = data.months.map((m) => ({
    month: m.month,
    invoiced: Number(m.invoiced ?? 0),
    aiCost: Number(m.ai_cost),
    aiBilled: Number(m.ai_billed),
  }));
  const modules = [...new Set(data.by_module.map((g) => g.group || "other"))].sort();
  const byModule = data.months.map((m) => {
    const row: Record<string, string | number> = { month: m.month };
    for (const g of data.by_module.filter((x) => x.month === m.month)) {
      const name = g.group || "other";
      row[name] = Number(row[name] ?? 0) + Number(g.quantity);
    }
    return row;
  });
  // Each chart says what it shows in a visible caption; with nothing to draw, it says so instead of empty axes.
  const anyCost = cost.some((m) => m.invoiced !== 0 || m.aiCost !== 0 || m.aiBilled !== 0);
  return (
    <div className="admin-charts">
      <figure className="chart" aria-label="Cost by month: invoiced, AI cost and AI charges">
        <figcaption>Cost by month: invoiced, AI cost and AI charges (USD)</figcaption>
        {anyCost ? (
        <>
        <ResponsiveContainer width="100%" height={240}>
          <BarChart data={cost} margin={{ top: 8, right: 8, bottom: 8, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="month" />
            <YAxis width={64} />
            <Tooltip />
            <Legend verticalAlign="top" />
            <Bar dataKey="invoiced" name="Invoiced (USD)" fill={COLOURS[0]} isAnimationActive={false} />
            <Bar dataKey="aiBilled" name="AI features charged" fill={COLOURS[2]} isAnimationActive={false} />
            <Bar dataKey="aiCost" name="AI cost" fill={COLOURS[1]} isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
        </>
        ) : (
          <p className="state state-empty">Nothing invoiced, and no AI cost or charge, in these months yet.</p>
        )}
      </figure>
      <figure className="chart" aria-label="Usage by module and month">
        <figcaption>Usage by module and month</figcaption>
        {modules.length > 0 ? (
        <>
        <ResponsiveContainer width="100%" height={240}>
          <BarChart data={byModule} margin={{ top: 8, right: 8, bottom: 8, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="month" />
            <YAxis width={64} />
            <Tooltip />
            <Legend verticalAlign="top" />
            {modules.map((name, i) => (
              <Bar key={name} dataKey={name} name={names.feature(name)} stackId="m" fill={COLOURS[i % COLOURS.length]} isAnimationActive={false} />
            ))}
          </BarChart>
        </ResponsiveContainer>
        </>
        ) : (
          <p className="state state-empty">No settled usage by module in these months yet.</p>
        )}
      </figure>
    </div>
  );
}
