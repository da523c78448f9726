import { useQuery } from "@tanstack/react-query";
import type { Schemas } from "../../api/client";
import { PaymentMethodOnFile } from "../../sections/billing/PaymentMethodOnFile";
import { INTERVALS, STATUSES, subscriptionQuery } from "../../api/subscriptions";
import { useSession } from "../../app/SessionContext";
import { date, dateTime, daysUntil, money } from "../../ui/format";
import { Loading, QueryView } from "../../ui/states";
import { Breakdown } from "./Breakdown";
import { DailyUsage } from "./DailyUsage";
import { type LiveMode, POLL_MS, useLiveUsage } from "./liveUsage";
import { upcomingInvoiceQuery } from "../../api/invoices";
import { ForecastSection } from "../../sections/forecast/ForecastSection";
import { UsageTable } from "../../sections/usage/UsageTable";
import { AiAccessRequests } from "../../sections/ai-access/AiAccessRequests";
import { organizationQuery } from "../../api/billing";
import { MemberDashboard } from "./MemberDashboard";
import { useTierName } from "../../api/plans";

export function DashboardPage() {
  const { account_id, organization_id, user_id } = useSession();
  // The caller's role in the organization: a member reads only their own share of its usage (MemberDashboard).
  const org = useQuery({ ...organizationQuery(organization_id ?? ""), enabled: organization_id !== null });
  const member = organization_id !== null && org.data?.role === "member";
  return (
    <>
      <h1>{member ? "Your usage" : "Billing dashboard"}</h1>
      {organization_id !== null && org.isPending ? (
        <Loading what="your usage" />
      ) : member ? (
        <MemberDashboard account={account_id} user={user_id} />
      ) : (
        <AccountDashboard account={account_id} />
      )}
      {/* Apart from the usage: a member, refused the organization's figures, still asks for AI access here. */}
      {organization_id !== null && <AiAccessRequests org={organization_id} user={user_id} />}
    </>
  );
}

function AccountDashboard({ account }: { account: string }) {
  const { query: usage, asOf, mode } = useLiveUsage(account);
  return (
    <QueryView query={usage} what="your usage">
      {(current) => <Dashboard account={account} usage={current} asOf={asOf} mode={mode} />}
    </QueryView>
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
          As of {dateTime(asOf)}{usage.live ? " — live figures, provisional until settled" : ""}
        </p>
        <p className="hint">
          {mode === "stream"
            ? "Updated as your usage changes."
            : `Refreshed every ${POLL_MS / 1000} s (the live update stream is not connected).`}
        </p>
        <UsageTable usage={usage} currency={currency} />
      </section>
      <DailyUsage
        account={account}
        metrics={usage.metrics.filter((m) => m.entitled).map((m) => m.metric)}
        period={usage.period}
        live={usage.metrics}
        now={asOf}
      />
      <Breakdown account={account} />
      <ForecastSection account={account} />
    </div>
  );
}

function Overview({ usage, now, account }: { usage: Schemas["UsageCurrent"]; now: Date; account: string }) {
  // The subscription (an organization's or the person's own) says its interval and a pending cancellation.
  const sub = useQuery(subscriptionQuery(account)).data ?? null;
  const tierName = useTierName();
  return (
    <section className="card" aria-labelledby="plan-heading">
      <h2 id="plan-heading">Subscription</h2>
      <dl className="facts">
        <dt>Plan</dt>
        <dd>{tierName(usage.tier)}</dd>
        {sub && (
          <>
            <dt>Billed</dt>
            <dd>{INTERVALS[sub.interval as keyof typeof INTERVALS] ?? sub.interval}</dd>
          </>
        )}
        <dt>Status</dt>
        <dd>
          <span className={`badge badge-${usage.status ?? "none"}`}>{usage.status ? STATUSES[usage.status] ?? usage.status : "No subscription"}</span>
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
