import { useQuery } from "@tanstack/react-query";
import { usageShareQuery } from "../../api/usage";
import { date, dateTime, quantity } from "../../ui/format";
import { TableWrap } from "../../ui/TableWrap";
import { Empty, QueryView } from "../../ui/states";
import { DailyUsage } from "./DailyUsage";
import { useNames } from "../../api/plans";

/** A member's dashboard: their own share of the organization's usage this period (settled, then live), per metric,
 * and per settled day.
 * The organization's totals, plan and invoices are its owners', admins' and viewers' (the API refuses a member). */
export function MemberDashboard({ account, user }: { account: string; user: string }) {
  const names = useNames();
  const share = useQuery(usageShareQuery(account, user));
  return (
    <div className="dashboard">
      <p className="hint">
        This is your own use of the organization&apos;s services. The organization&apos;s totals, plan and invoices are
        for its owners, admins and viewers.
      </p>
      <QueryView query={share} what="your usage">
        {(s) => (
          <>
            <section className="card" aria-labelledby="share-heading">
              <h2 id="share-heading">Your usage this period</h2>
              <p className="as-of">
                {date(s.period.start)} – {date(s.period.end)}, as of {dateTime(s.as_of)}.{" "}
                {s.settled_until === null
                  ? "Nothing is settled yet this period: all of it is live and provisional."
                  : `Settled up to ${dateTime(s.settled_until)}; later use is live and provisional until settled.`}
              </p>
              {s.metrics.length === 0 ? (
                <Empty>The plan meters nothing yet.</Empty>
              ) : (
                <TableWrap label="Your usage per metric">
                  <thead>
                    <tr>
                      <th scope="col">Metric</th>
                      <th scope="col" className="num">
                        Used by you
                      </th>
                      <th scope="col" className="num">
                        Of which settled
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {s.metrics.map((m) => (
                      <tr key={m.metric}>
                        <th scope="row">{names.metric(m.metric)}</th>
                        <td className="num">{quantity(m.used)}</td>
                        <td className="num">{quantity(m.settled)}</td>
                      </tr>
                    ))}
                  </tbody>
                </TableWrap>
              )}
            </section>
            <DailyUsage
              account={account}
              user={user}
              metrics={s.metrics.map((m) => m.metric)}
              period={s.period}
              now={new Date(s.settled_until ?? s.period.start)}
            />
          </>
        )}
      </QueryView>
    </div>
  );
}
