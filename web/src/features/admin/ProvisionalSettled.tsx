import { useQuery } from "@tanstack/react-query";
import type { Schemas } from "../../api/client";
import { upcomingInvoiceQuery } from "../../api/invoices";
import { settledUsageQuery, usageCurrentQuery } from "../../api/usage";
import { money, quantity } from "../../ui/format";
import { TableWrap } from "../../ui/TableWrap";
import { Empty, QueryView } from "../../ui/states";
import { useNames } from "../../api/plans";

// Seats are counted from the members at settlement, not summed from events: no settled sum to set beside them.
const COUNTED_AT_SETTLEMENT = new Set(["active_user"]);

/** This period's provisional figures (live, from the quota state) beside the settled ones (the hourly rollup the
 * invoice is made from), per metric, and the two totals: what the live usage would bill now, and the upcoming
 * invoice drafted from the settled usage. `streamed`: the live usage stream keeps the provisional figures current
 * (liveUsage.ts), so they are not polled meanwhile. */
export function ProvisionalSettled({
  org,
  period,
  streamed = false,
}: {
  org: string;
  period: Schemas["Period"];
  streamed?: boolean;
}) {
  const names = useNames();
  const live = useQuery({ ...usageCurrentQuery(org), refetchInterval: streamed ? false : 5_000 });
  const settled = useQuery({ ...settledUsageQuery(org, period.start, period.end), refetchInterval: 30_000 });
  const upcoming = useQuery(upcomingInvoiceQuery(org));
  return (
    <>
      <h3>Provisional and settled, this period</h3>
      <QueryView query={live} what="the live usage">
        {(now) => (
          <QueryView query={settled} what="the settled usage">
            {(history) => {
              const settledBy = new Map<string, string>();
              for (const row of history.rows) settledBy.set(row.metric, row.quantity);
              const metrics = now.metrics.filter((m) => m.entitled || settledBy.has(m.metric));
              return (
                <>
                  <dl className="facts">
                    <dt>Provisional usage charges</dt>
                    <dd>{money(now.provisional_total, "usd")} (live usage priced now)</dd>
                    <dt>Settled invoice so far</dt>
                    <dd>
                      {upcoming.data
                        ? `${money(upcoming.data.total, upcoming.data.currency)} (fees, usage, credits and tax from settled usage)`
                        : upcoming.isError
                          ? upcoming.error.message
                          : "Loading…"}
                    </dd>
                  </dl>
                  {metrics.length === 0 ? (
                    <Empty>The plan meters nothing yet.</Empty>
                  ) : (
                    <TableWrap label="Provisional and settled usage">
                      <thead>
                        <tr>
                          <th scope="col">Metric</th>
                          <th scope="col" className="num">Provisional (live)</th>
                          <th scope="col" className="num">Settled</th>
                          <th scope="col" className="num">Not yet settled</th>
                          <th scope="col" className="num">Provisional charge</th>
                        </tr>
                      </thead>
                      <tbody>
                        {metrics.map((m) => {
                          const counted = COUNTED_AT_SETTLEMENT.has(m.metric);
                          const s = settledBy.get(m.metric) ?? "0";
                          return (
                            <tr key={m.metric}>
                              <th scope="row">{names.metric(m.metric)}</th>
                              <td className="num">{quantity(m.used)}</td>
                              <td className="num">{counted ? "at settlement" : quantity(s)}</td>
                              <td className="num">{counted ? "—" : quantity(pending(m.used, s))}</td>
                              <td className="num">{money(m.provisional_charge, "usd")}</td>
                            </tr>
                          );
                        })}
                      </tbody>
                    </TableWrap>
                  )}
                  <p className="hint">
                    Provisional figures move with each event, seconds behind; settled ones are rolled up hourly and
                    are what the invoice is made from.
                  </p>
                </>
              );
            }}
          </QueryView>
        )}
      </QueryView>
    </>
  );
}

/** live − settled on decimal strings, exactly: both are scaled to integers of the larger number of decimals. */
export function pending(live: string, settled: string): string {
  const digits = Math.max(decimals(live), decimals(settled));
  const diff = scaled(live, digits) - scaled(settled, digits);
  const clipped = diff < 0n ? 0n : diff; // settled ahead of a reloading quota state: nothing is pending
  if (digits === 0) return clipped.toString();
  const text = clipped.toString().padStart(digits + 1, "0");
  return `${text.slice(0, -digits)}.${text.slice(-digits)}`;
}

const decimals = (v: string) => (v.includes(".") ? v.length - v.indexOf(".") - 1 : 0);

function scaled(v: string, digits: number): bigint {
  const [whole = "0", frac = ""] = v.split(".");
  return BigInt(whole + frac.padEnd(digits, "0"));
}
