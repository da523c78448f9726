import type { Schemas } from "../../api/client";
import { money, quantity } from "../../ui/format";
import { TableWrap } from "../../ui/TableWrap";
import { UsageBar } from "../../ui/UsageBar";
import { Empty } from "../../ui/states";
import { useNames } from "../../api/plans";

/** Usage per metric this period against what the plan includes (pooled across an organization's members), with
 * the 80 % / 100 % warnings, the hard cap and the charge so far: the dashboard and the admin panel's live usage. */
export function UsageTable({ usage, currency }: { usage: Schemas["UsageCurrent"]; currency: string }) {
  const names = useNames();
  const metrics = usage.metrics.filter((m) => m.entitled);
  if (metrics.length === 0) return <Empty>The plan meters nothing yet.</Empty>;
  return (
    <TableWrap label="Usage per metric" className="stack-on-phone">
      <thead>
          <tr>
            <th scope="col">Metric</th>
            <th scope="col" className="num">Used</th>
            <th scope="col" className="num">Included</th>
            <th scope="col" className="num">Remaining</th>
            <th scope="col">Of included</th>
            <th scope="col" className="num">Charge so far</th>
          </tr>
        </thead>
        <tbody>
          {metrics.map((m) => (
            <tr key={m.metric}>
              <th scope="row">
                {names.metric(m.metric)}
                {m.hard_cap !== null && (
                  <div className={m.hard_capped ? "state-error" : "hint"}>
                    Hard cap {quantity(m.hard_cap)}
                    {m.hard_capped ? " — reached, further use is refused" : ""}
                  </div>
                )}
              </th>
              <td className="num" data-label="Used">{quantity(m.used)}</td>
              <td className="num" data-label="Included">{m.included === null ? "Unlimited" : quantity(m.included)}</td>
              <td className="num" data-label="Remaining">{m.remaining === null ? "—" : quantity(m.remaining)}</td>
              <td data-label="Of included">
                {m.included !== null ? (
                  <UsageBar label={`${names.metric(m.metric)} used of included`} used={Number(m.used)} limit={Number(m.included)} />
                ) : (
                  "—"
                )}
              </td>
              <td className="num provisional" data-label="Charge so far">{money(m.provisional_charge, currency)}</td>
            </tr>
          ))}
        </tbody>
      </TableWrap>
  );
}
