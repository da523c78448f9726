import { useQuery } from "@tanstack/react-query";
import { Suspense, lazy, useState } from "react";
import type { Schemas } from "../../api/client";
import { quantity } from "../../ui/format";
import { Empty, Loading, QueryView } from "../../ui/states";
import { dailySeries, previousPeriodStart, withLiveToday } from "./daily";
import { dailyUsageQuery } from "./queries";
import { useNames } from "../../api/plans";

// Metrics whose period figure is not the sum of its days (a peak, a distinct count): no live bar for them.
const GAUGES = new Set(["storage_gb", "active_user"]);

const DailyUsageChart = lazy(() => import("./DailyUsageChart"));

/** The daily chart of this period against the previous one: the account's, or one user's share (`user`, settled
 * only: the live figures are the account's). */
export function DailyUsage({
  account,
  metrics,
  period,
  live: liveMetrics,
  now,
  user,
}: {
  account: string;
  metrics: string[];
  period: Schemas["Period"];
  live?: Schemas["MetricUsage"][];
  now: Date;
  user?: string;
}) {
  const names = useNames();
  const [metric, setMetric] = useState(metrics.includes("api_calls") ? "api_calls" : (metrics[0] ?? "api_calls"));
  const from = previousPeriodStart(period.start, period.end);
  const history = useQuery(dailyUsageQuery(account, from, period.end, user));
  const live = liveMetrics?.find((m) => m.metric === metric);
  return (
    <section className="card" aria-labelledby="daily-heading">
      <h2 id="daily-heading">Daily usage</h2>
      <label>
        Metric{" "}
        <select value={metric} onChange={(e) => setMetric(e.target.value)}>
          {metrics.map((m) => (
            <option key={m} value={m}>
              {names.metric(m)}
            </option>
          ))}
        </select>
      </label>
      <QueryView query={history} what="daily usage">
        {(h) => {
          const settled = dailySeries(h.rows, metric, period.start, period.end);
          const points = live && !GAUGES.has(metric) ? withLiveToday(settled, live.used, period.start, now) : settled;
          return points.every((p) => p.current === null && p.previous === null && p.provisional === null) ? (
            <Empty>No {names.metric(metric)} in this or the previous period yet.</Empty>
          ) : (
            <Suspense fallback={<Loading what="the chart" />}>
              <DailyUsageChart points={points} metric={names.metric(metric)} />
            </Suspense>
          );
        }}
      </QueryView>
      {live && (
        <p className="provisional">
          {names.metric(metric)} this period including today&apos;s live figures (provisional): {quantity(live.used)}.
        </p>
      )}
    </section>
  );
}
