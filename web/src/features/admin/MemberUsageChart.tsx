import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

export type MemberPoint = { member: string; spend: number; requests: number };

/** AI spend and requests per member this period (the top members). Loaded on demand. */
export default function MemberUsageChart({ points }: { points: MemberPoint[] }) {
  return (
    <figure className="chart" aria-label="AI spend and requests per member, this period">
      <ResponsiveContainer width="100%" height={240}>
        <BarChart data={points} margin={{ top: 8, right: 8, bottom: 8, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="member" />
          <YAxis yAxisId="spend" width={64} />
          <YAxis yAxisId="requests" orientation="right" width={48} />
          <Tooltip />
          <Legend verticalAlign="top" />
          <Bar yAxisId="spend" dataKey="spend" name="AI spend (USD)" fill="#1f4fd6" isAnimationActive={false} />
          <Bar yAxisId="requests" dataKey="requests" name="AI requests" fill="#8a5a00" isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </figure>
  );
}
