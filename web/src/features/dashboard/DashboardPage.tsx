import { useQuery } from "@tanstack/react-query";
import { Suspense, lazy, useState } from "react";
import type { Schemas } from "../../api/client";
import { PaymentMethodOnFile } from "../../sections/billing/PaymentMethodOnFile";
import { INTERVALS, subscriptionQuery } from "../../api/subscriptions";
import { useSession } from "../../app/SessionContext";
import { date, dateTime, daysUntil, money, quantity } from "../../ui/format";
import { Empty, Loading, QueryView } from "../../ui/states";
import { Breakdown } from "./Breakdown";
import { dailySeries, previousPeriodStart, withLiveToday } from "./daily";
import { type LiveMode, POLL_MS, useLiveUsage } from "./liveUsage";
import { upcomingInvoiceQuery } from "../../api/invoices";
import { dailyUsageQuery } from "./queries";
import { ForecastSection } from "../../sections/forecast/ForecastSection";
import { UsageTable } from "../../sections/usage/UsageTable";
import { AiAccessRequests } from "../../sections/ai-access/AiAccessRequests";

// Metrics whose period figure is not the sum of its days (a peak, a distinct count): no live bar for them.
const GAUGES = new Set(["storage_gb", "active_user"]);

const DailyUsageChart = lazy(() => import("./DailyUsageChart"));

const STATUS_WORDS: Record<string, string> = {
  trialing: "Trialing",
  active: "Active",
  past_due: "Past due",
  unpaid: "Unpaid",
  canceled: "Canceled",
};

export function DashboardPage() {
  const { account_id, organization_id, user_id } = useSession();
  const { query: usage, asOf, mode } = useLiveUsage(account_id);
  return (
    <>
      <h1>Billing dashboard</h1>
      <QueryView query={usage} what="your usage">
        {(current) => <Dashboard account={account_id} usage={current} asOf={asOf} mode={mode} />}
      </QueryView>
      {/* Apart from the usage: a member, refused the organization's figures, still asks for AI access here. */}
      {organization_id !== null && <AiAccessRequests org={organization_id} user={user_id} />}
    </>
  );
}

function Dashboard({ account, usage, asOf, mode }: { account: string; usage: Schemas["UsageCurrent"]; asOf: Date; mode: LiveMode }) {
  // Usage figures carry no currency; the account's is the upcoming invoice's (USD until it is known).
  const currency = useQuery(upcomingInvoiceQuery(account)).data?.currency ?? "usd";
  return (
    <div className="dashboard">
      <div className="cards">
        <Overview usage={usage} now={asOf} account={account} />
        <Upcoming account={account} />
      </div>
      <section className="card" aria-labelledby="usage-heading">
        <h2 id="usage-heading">Usage this period</h2>
        <p className="as-of" aria-live="polite">
          As of {dateTime(asOf)} UTC{usage.live ? " — live figures, provisional until settled" : ""}
        </p>
        <p className="hint">
          {mode === "stream"
            ? "Updated as your usage changes."
            : `Refreshed every ${POLL_MS / 1000} s (the live update stream is not connected).`}
        </p>
        <UsageTable usage={usage} currency={currency} />
      </section>
      <DailyUsage account={account} usage={usage} now={asOf} />
      <Breakdown account={account} />
      <ForecastSection account={account} />
    </div>
  );
}

function Overview({ usage, now, account }: { usage: Schemas["UsageCurrent"]; now: Date; account: string }) {
  const { organization_id } = useSession();
  // An organization's subscription says its interval and a pending cancellation; a personal account has none.
  const sub = useQuery({ ...subscriptionQuery(organization_id ?? ""), enabled: organization_id !== null }).data ?? null;
  return (
    <section className="card" aria-labelledby="plan-heading">
      <h2 id="plan-heading">Subscription</h2>
      <dl className="facts">
        <dt>Plan</dt>
        <dd>{usage.tier}</dd>
        {sub && (
          <>
            <dt>Billed</dt>
            <dd>{INTERVALS[sub.interval as keyof typeof INTERVALS] ?? sub.interval}</dd>
          </>
        )}
        <dt>Status</dt>
        <dd>
          <span className={`badge badge-${usage.status ?? "none"}`}>{usage.status ? STATUS_WORDS[usage.status] : "No subscription"}</span>
          {sub?.cancel_at && <span className="badge badge-canceling">Canceling on {date(sub.cancel_at)}</span>}
        </dd>
        <dt>Current period</dt>
        <dd>
          {date(usage.period.start)} – {date(usage.period.end)}
        </dd>
        <dt>Days left</dt>
        <dd>{daysUntil(usage.period.end, now)}</dd>
        <dt>Payment method</dt>
        <dd>
          <PaymentMethodOnFile account={account} />
        </dd>
      </dl>
    </section>
  );
}

function Upcoming({ account }: { account: string }) {
  const upcoming = useQuery(upcomingInvoiceQuery(account));
  return (
    <section className="card" aria-labelledby="upcoming-heading">
      <h2 id="upcoming-heading">Next invoice</h2>
      <QueryView query={upcoming} what="the upcoming invoice">
        {(invoice) => (
          <dl className="facts">
            <dt>Date</dt>
            <dd>{date(invoice.period_end)}</dd>
            <dt>Amount so far</dt>
            <dd>{money(invoice.total, invoice.currency)}</dd>
          </dl>
        )}
      </QueryView>
    </section>
  );
}


function DailyUsage({ account, usage, now }: { account: string; usage: Schemas["UsageCurrent"]; now: Date }) {
  const metrics = usage.metrics.filter((m) => m.entitled).map((m) => m.metric);
  const [metric, setMetric] = useState(metrics.includes("api_calls") ? "api_calls" : (metrics[0] ?? "api_calls"));
  const from = previousPeriodStart(usage.period.start, usage.period.end);
  const history = useQuery(dailyUsageQuery(account, from, usage.period.end));
  const live = usage.metrics.find((m) => m.metric === metric);
  return (
    <section className="card" aria-labelledby="daily-heading">
      <h2 id="daily-heading">Daily usage</h2>
      <label>
        Metric{" "}
        <select value={metric} onChange={(e) => setMetric(e.target.value)}>
          {metrics.map((m) => (
            <option key={m}>{m}</option>
          ))}
        </select>
      </label>
      <QueryView query={history} what="daily usage">
        {(h) => {
          const settled = dailySeries(h.rows, metric, usage.period.start, usage.period.end);
          const points = live && !GAUGES.has(metric) ? withLiveToday(settled, live.used, usage.period.start, now) : settled;
          return points.every((p) => p.current === null && p.previous === null && p.provisional === null) ? (
            <Empty>No usage of {metric} in this or the previous period yet.</Empty>
          ) : (
            <Suspense fallback={<Loading what="the chart" />}>
              <DailyUsageChart points={points} metric={metric} />
            </Suspense>
          );
        }}
      </QueryView>
      {live && (
        <p className="provisional">
          Period to date including today&apos;s live figures (provisional): {quantity(live.used)} {metric}.
        </p>
      )}
    </section>
  );
}
