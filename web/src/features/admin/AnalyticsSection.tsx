import { useQuery } from "@tanstack/react-query";
import { Suspense, lazy, useState } from "react";
import { money, quantity, unitPrice } from "../../ui/format";
import { TableWrap } from "../../ui/TableWrap";
import { Empty, Loading, QueryView } from "../../ui/states";
import { ForecastSection } from "../../sections/forecast/ForecastSection";
import { analyticsQuery } from "./queries";
import { useNames } from "../../api/plans";

const TrendCharts = lazy(() => import("./TrendCharts"));
const SPANS = [3, 6, 12];

function percent(share: string | null): string {
  return share === null ? "—" : `${(Number(share) * 100).toFixed(0)} %`;
}

/** Monthly trends from settled usage and finalized invoices: cost, AI cost against AI charges, usage by module
 * and by role, seat utilisation — and the forecasting feature's period-end forecast in its own slot. */
export function AnalyticsSection({ org }: { org: string }) {
  const names = useNames();
  const [months, setMonths] = useState(6);
  const analytics = useQuery(analyticsQuery(org, months));
  return (
    <section aria-labelledby="analytics-heading">
      <h2 id="analytics-heading">Analytics</h2>
      <label>
        Months{" "}
        <select value={months} onChange={(e) => setMonths(Number(e.target.value))}>
          {SPANS.map((n) => (
            <option key={n} value={n}>
              last {n}
            </option>
          ))}
        </select>
      </label>
      <div className="forecast-slot">
        <ForecastSection account={org} />
      </div>
      <QueryView query={analytics} what="the analytics">
        {(data) => (
          <>
            <Suspense fallback={<Loading what="the charts" />}>
              <TrendCharts data={data} />
            </Suspense>
            <TableWrap label="Monthly trends">
              <thead>
                <tr>
                  <th scope="col">Month</th>
                  <th scope="col" className="num">Invoiced</th>
                  <th scope="col" className="num">AI requests</th>
                  <th scope="col" className="num">AI cost</th>
                  <th scope="col" className="num">AI features charged</th>
                  <th scope="col" className="num">Active / members</th>
                  <th scope="col" className="num">Seat utilisation</th>
                </tr>
              </thead>
              <tbody>
                {data.months.map((m) => (
                  <tr key={m.month}>
                    <th scope="row">{m.month}</th>
                    <td className="num">{m.invoiced === null ? "—" : money(m.invoiced, "usd")}</td>
                    <td className="num">{quantity(m.ai_requests)}</td>
                    <td className="num">{unitPrice(m.ai_cost, "usd")}</td>
                    <td className="num">{money(m.ai_billed, "usd")}</td>
                    <td className="num">
                      {m.active_users} / {m.members}
                    </td>
                    <td className="num">{percent(m.seat_utilisation)}</td>
                  </tr>
                ))}
              </tbody>
            </TableWrap>
            {data.by_role.length === 0 ? (
              <Empty>No settled usage by role in these months yet.</Empty>
            ) : (
            <TableWrap label="Usage by role (member group)">
              <thead>
                <tr>
                  <th scope="col">Month</th>
                  <th scope="col">Role</th>
                  <th scope="col">Metric</th>
                  <th scope="col" className="num">Quantity</th>
                  <th scope="col" className="num">AI cost</th>
                </tr>
              </thead>
              <tbody>
                {data.by_role.map((g) => (
                  <tr key={`${g.month}-${g.group}-${g.metric}`}>
                    <th scope="row">{g.month}</th>
                    <td>{g.group}</td>
                    <td>{names.metric(g.metric)}</td>
                    <td className="num">{quantity(g.quantity)}</td>
                    <td className="num">{g.ai_cost === null ? "—" : unitPrice(g.ai_cost, "usd")}</td>
                  </tr>
                ))}
              </tbody>
            </TableWrap>
            )}
          </>
        )}
      </QueryView>
    </section>
  );
}
