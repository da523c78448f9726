import { useQuery } from "@tanstack/react-query";
import { Suspense, lazy } from "react";
import { dateTime, quantity, unitPrice } from "../../ui/format";
import { TableWrap } from "../../ui/TableWrap";
import { Empty, Loading, QueryView } from "../../ui/states";
import { CapCell } from "./CapCell";
import { ProvisionalSettled } from "./ProvisionalSettled";
import { upcomingInvoiceQuery } from "../../api/invoices";
import { usageCurrentQuery } from "../../api/usage";
import { UsageTable } from "../../sections/usage/UsageTable";
import { POLL_MS, useLiveOrgUsage } from "./liveUsage";
import { alertsQuery } from "./queries";

const MemberUsageChart = lazy(() => import("./MemberUsageChart"));
const TOP = 10;

/** Live usage this period: the organization's against its AI cap, each member's (top users first) with
 * their AI cap, and AI use by provider and model. Pushed by the API's live stream (polled when it cannot connect);
 * a member sees only their own. */
export function UsageSection({ org }: { org: string }) {
  const { query: usage, asOf, mode } = useLiveOrgUsage(org);
  const alerts = useQuery(alertsQuery(org)); // refused to a member: then simply not shown
  return (
    <section aria-labelledby="usage-heading">
      <h2 id="usage-heading">Live usage by member</h2>
      <QueryView query={usage} what="the usage">
        {(data) => {
          const active = data.members.filter((m) => m.ai_requests !== "0" || Object.keys(m.metrics).length > 0);
          const points = active.slice(0, TOP).map((m) => ({
            member: m.user_id,
            spend: Number(m.ai_spend),
            requests: Number(m.ai_requests),
          }));
          return (
            <>
              <p className="hint">
                Period {data.period.key}, as of {dateTime(asOf ?? data.as_of)} (live,
                seconds behind; invoices come from settled figures).{" "}
                {mode === "stream"
                  ? "Updated as usage changes."
                  : `Refreshed every ${POLL_MS / 1000} s${data.scope === "organization" ? " (the live update stream is not connected)" : ""}.`}
              </p>
              {data.organization && (
                <dl className="facts">
                  <dt>AI requests</dt>
                  <dd>{quantity(data.organization.ai_requests)}</dd>
                  <dt>AI spend</dt>
                  <dd>{unitPrice(data.organization.ai_spend, "usd")}</dd>
                  <dt>Organization cap</dt>
                  <dd>
                    <CapCell cap={data.organization.cap} />
                  </dd>
                </dl>
              )}
              {data.organization && <PooledQuotas org={org} streamed={mode === "stream"} />}
              {data.organization && <ProvisionalSettled org={org} period={data.period} streamed={mode === "stream"} />}
              {alerts.data && (
                <>
                  <h3>Alerts this period</h3>
                  {alerts.data.alerts.length === 0 ? (
                    <Empty>No alerts raised this period.</Empty>
                  ) : (
                    <ul className="alerts">
                      {alerts.data.alerts.map((a) => (
                        <li key={`${a.kind}-${a.at}-${a.summary}`}>
                          {dateTime(a.at)}: {a.summary}
                          {a.emailed ? " (emailed)" : ""}
                        </li>
                      ))}
                    </ul>
                  )}
                </>
              )}
              {/* Its own heading: after the alerts, the members' table read as part of them. */}
              <h3>Per member</h3>
              {points.length > 0 && (
                <Suspense fallback={<Loading what="the chart" />}>
                  <MemberUsageChart points={points} />
                </Suspense>
              )}
              <TableWrap label="Usage by member">
                <thead>
                  <tr>
                    <th scope="col">Member</th>
                    <th scope="col">Role</th>
                    <th scope="col" className="num">AI requests</th>
                    <th scope="col" className="num">Tokens in / out</th>
                    <th scope="col" className="num">AI spend</th>
                    <th scope="col">Top model</th>
                    <th scope="col" className="num">API calls</th>
                    <th scope="col">AI cap</th>
                  </tr>
                </thead>
                <tbody>
                  {data.members.map((m) => (
                    <tr key={m.user_id}>
                      <th scope="row">{m.user_id}</th>
                      <td>{m.role ?? "not a member"}</td>
                      <td className="num">{quantity(m.ai_requests)}</td>
                      <td className="num">
                        {quantity(String(m.input_tokens))} / {quantity(String(m.output_tokens))}
                      </td>
                      <td className="num">{unitPrice(m.ai_spend, "usd")}</td>
                      <td>{m.by_model[0] ? `${m.by_model[0].provider}/${m.by_model[0].model}` : "—"}</td>
                      <td className="num">{quantity(m.metrics.api_calls ?? "0")}</td>
                      <td>
                        <CapCell cap={m.cap} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </TableWrap>
              {data.organization && <h3>By provider and model</h3>}
              {data.organization &&
                (data.organization.by_model.length === 0 ? (
                  <Empty>No AI requests this period yet.</Empty>
                ) : (
                  <TableWrap label="AI use by provider and model">
                    <thead>
                      <tr>
                        <th scope="col">Provider / model</th>
                        <th scope="col" className="num">Requests</th>
                        <th scope="col" className="num">Tokens in / out</th>
                        <th scope="col" className="num">Spend</th>
                      </tr>
                    </thead>
                    <tbody>
                      {data.organization.by_model.map((x) => (
                        <tr key={`${x.provider}/${x.model}`}>
                          <th scope="row">
                            {x.provider || "unknown"}/{x.model || "unknown"}
                          </th>
                          <td className="num">{quantity(x.requests)}</td>
                          <td className="num">
                            {quantity(String(x.input_tokens))} / {quantity(String(x.output_tokens))}
                          </td>
                          <td className="num">{unitPrice(x.spend, "usd")}</td>
                        </tr>
                      ))}
                    </tbody>
                  </TableWrap>
                ))}
            </>
          );
        }}
      </QueryView>
    </section>
  );
}

/** The organization's usage per metric against the quotas its plan pools for all members (the live stream's
 * `usage`; polled only while the stream is not delivering). */
function PooledQuotas({ org, streamed }: { org: string; streamed: boolean }) {
  const live = useQuery({ ...usageCurrentQuery(org), refetchInterval: streamed ? false : POLL_MS });
  const currency = useQuery(upcomingInvoiceQuery(org)).data?.currency ?? "usd";
  return (
    <>
      <h3>Against the pooled quotas</h3>
      <QueryView query={live} what="the usage per metric">
        {(usage) => <UsageTable usage={usage} currency={currency} />}
      </QueryView>
    </>
  );
}
