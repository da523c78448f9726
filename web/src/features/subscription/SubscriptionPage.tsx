import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type ReactNode } from "react";
import { Link } from "react-router-dom";
import { useSession } from "../../app/SessionContext";
import { date } from "../../ui/format";
import { Empty, ErrorState, QueryView, READERS } from "../../ui/states";
import { ChangePreview } from "./ChangePreview";
import { PlanComparison } from "./PlanComparison";
import { manages, organizationQuery } from "../../api/billing";
import { plansQuery, useTierName, type Plan } from "../../api/plans";
import { INTERVALS, STATUSES, planChanged, subscriptionQuery, type Subscription } from "../../api/subscriptions";
import {
  cancelAtPeriodEnd,
  changePlan,
  previewChange,
  previewSubscribe,
  reactivate,
  subscribe,
  type Change,
  type NewSubscription,
  type Preview,
} from "./queries";

// The catalog's tiers in rank order, until the public GET /api/billing/plans (issue 16) is in the spec.
const TIERS = ["free", "standard", "enterprise"] as const;
type Interval = Subscription["interval"];

export function SubscriptionPage() {
  // An organization's plan or the person's own: the same subscription API for both (GET /subscriptions?account=).
  const { account_id, organization_id } = useSession();
  const subscription = useQuery(subscriptionQuery(account_id));
  // A person subscribes their own account; an organization's owners and admins subscribe it (viewers read).
  const org = useQuery({ ...organizationQuery(organization_id ?? ""), enabled: organization_id !== null });
  const canSubscribe = organization_id === null || manages(org.data);
  return (
    <>
      <h1>Your plan</h1>
      <QueryView query={subscription} what="your subscription" forbidden={READERS}>
        {(sub) => (
          <>
            {sub ? (
              <Manage sub={sub} />
            ) : (
              <>
                <Empty>This account has no subscription: the plan marked below applies.</Empty>
                {canSubscribe && <Subscribe account={account_id} personal={organization_id === null} />}
              </>
            )}
            <PlanComparison current={sub ? sub.tier : null} />
          </>
        )}
      </QueryView>
    </>
  );
}

/** The intervals the catalog prices for `plan` (e.g. an annual-only tier); all while the plans load. */
function pricedIntervals(plan: Plan | undefined): Interval[] {
  return (Object.keys(INTERVALS) as Interval[]).filter(
    (i) => !plan || (i === "month" ? plan.monthly_price : plan.annual_price) !== null,
  );
}

/** A plan and how it is billed, then the button that asks for the review (`children`). */
function PlanPicker(props: {
  id: string;
  tiers: { value: string; label: string }[];
  tier: string;
  onTier: (tier: string) => void;
  intervals: Interval[];
  interval: Interval;
  onInterval: (interval: Interval) => void;
  onReview: () => void;
  children: ReactNode;
}) {
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        props.onReview();
      }}
    >
      <label htmlFor={`${props.id}-tier`}>Plan</label>{" "}
      <select id={`${props.id}-tier`} value={props.tier} onChange={(e) => props.onTier(e.target.value)}>
        {props.tiers.map((t) => (
          <option key={t.value} value={t.value}>
            {t.label}
          </option>
        ))}
      </select>{" "}
      <label htmlFor={`${props.id}-interval`}>Billed</label>{" "}
      <select id={`${props.id}-interval`} value={props.interval} onChange={(e) => props.onInterval(e.target.value as Interval)}>
        {props.intervals.map((value) => (
          <option key={value} value={value}>
            {INTERVALS[value]}
          </option>
        ))}
      </select>{" "}
      {props.children}
    </form>
  );
}

/** What is asked, the API's preview of it, then the confirm (offered once the preview is in) and the way back. */
function Review(props: {
  label: string;
  intro: string;
  queryKey: readonly unknown[];
  load: () => Promise<Preview>;
  confirm: string;
  pending: boolean;
  onConfirm: () => void;
  onBack: () => void;
}) {
  return (
    <div className="review" role="region" aria-label={props.label}>
      <p>{props.intro}</p>
      <ChangePreview queryKey={props.queryKey} load={props.load}>
        {() => (
          <button type="button" className="primary" disabled={props.pending} onClick={props.onConfirm}>
            {props.confirm}
          </button>
        )}
      </ChangePreview>{" "}
      <button type="button" onClick={props.onBack}>
        Back
      </button>
    </div>
  );
}

/** An account without a subscription subscribes: a plan other than the default one (which already applies), then
 * the API's preview of the first invoice, then the confirm. A person's own account needs no organization. */
function Subscribe({ account, personal }: { account: string; personal: boolean }) {
  const client = useQueryClient();
  const tierName = useTierName();
  const plans = useQuery(plansQuery());
  const offered = (plans.data?.plans ?? []).filter((p) => !p.is_default);
  const [picked, setPicked] = useState<string | null>(null);
  const tier = picked ?? offered[0]?.tier ?? "";
  const plan = offered.find((p) => p.tier === tier);
  const [chosenInterval, setChosenInterval] = useState<Interval>("month");
  const intervals = pricedIntervals(plan);
  const interval = intervals.includes(chosenInterval) ? chosenInterval : (intervals[0] ?? "month");
  const [reviewing, setReviewing] = useState(false);
  // A person's own account is the caller's (account_id null) in no organization; an organization's is the session's.
  const wanted: NewSubscription = {
    tier,
    interval,
    account_kind: personal ? "user" : "org",
    account_id: null,
    organization_id: null,
    anchor: null,
    trial_days: 0,
  };
  const create = useMutation({
    mutationFn: () => subscribe(wanted),
    onSuccess: () => {
      void planChanged(client);
    },
  });
  if (offered.length === 0) return null;
  const named = `${tierName(tier)} (${INTERVALS[interval]})`;
  return (
    <section className="card" aria-labelledby="subscribe-heading">
      <h2 id="subscribe-heading">Choose a plan</h2>
      <PlanPicker
        id="subscribe"
        tiers={offered.map((p) => ({ value: p.tier, label: p.display_name }))}
        tier={tier}
        onTier={(t) => { setPicked(t); setReviewing(false); }}
        intervals={intervals}
        interval={interval}
        onInterval={(i) => { setChosenInterval(i); setReviewing(false); }}
        onReview={() => setReviewing(true)}
      >
        <button type="submit">Review</button>
      </PlanPicker>
      {reviewing && (
        <Review
          label="Review the subscription"
          intro={`Subscribe to ${named} from today: the first invoice is the API's preview below.`}
          queryKey={["create", account, tier, interval]}
          load={() => previewSubscribe(wanted)}
          confirm={`Subscribe to ${tierName(tier)}`}
          pending={create.isPending}
          onConfirm={() => create.mutate()}
          onBack={() => setReviewing(false)}
        />
      )}
      {create.isError && <ErrorState error={create.error} />}
    </section>
  );
}

/** Upgrade at once (base fee prorated), downgrade at the period end, refused while past due: said before asking. */
export function changeKind(sub: Pick<Subscription, "tier" | "interval">, change: Required<Change>): "upgrade" | "downgrade" | "none" {
  const from = TIERS.indexOf(sub.tier as (typeof TIERS)[number]);
  const to = TIERS.indexOf(change.tier as (typeof TIERS)[number]);
  if (to > from || (to === from && change.interval === "year" && sub.interval === "month")) return "upgrade";
  if (to < from || change.interval !== sub.interval) return "downgrade";
  return "none";
}

function Manage({ sub }: { sub: Subscription }) {
  const client = useQueryClient();
  const tierName = useTierName();
  const [tier, setTier] = useState(sub.tier);
  const [interval, setBilling] = useState<Interval>(sub.interval);
  // Only the intervals the catalog prices for the chosen tier (e.g. an annual-only tier); all while the plans load.
  const plans = useQuery(plansQuery());
  const plan = plans.data?.plans.find((p) => p.tier === tier);
  const offered = pricedIntervals(plan);
  const pickTier = (t: string) => {
    setTier(t);
    setReviewing(false);
    const next = plans.data?.plans.find((p) => p.tier === t);
    if (next && (interval === "month" ? next.monthly_price : next.annual_price) === null)
      setBilling(interval === "month" ? "year" : "month");
  };
  const [reviewing, setReviewing] = useState(false);
  const done = () => {
    setReviewing(false);
    void planChanged(client);
  };
  const change = useMutation({ mutationFn: (c: Required<Change>) => changePlan(sub.id, c), onSuccess: done });
  const cancel = useMutation({ mutationFn: () => cancelAtPeriodEnd(sub.id), onSuccess: done });
  const undo = useMutation({ mutationFn: () => reactivate(sub.id), onSuccess: done });
  const wanted = { tier, interval } as Required<Change>;
  const kind = changeKind(sub, wanted);
  const blocked = sub.status === "past_due" || sub.status === "unpaid";
  const periodEnd = date(sub.current_period.end);

  return (
    <div className="cards">
      <section className="card" aria-labelledby="current-heading">
        <h2 id="current-heading">Current plan</h2>
        <dl className="facts">
          <dt>Plan</dt>
          <dd>{tierName(sub.tier)}</dd>
          <dt>Billed</dt>
          <dd>{INTERVALS[sub.interval as keyof typeof INTERVALS] ?? sub.interval}</dd>
          <dt>Status</dt>
          <dd>
            {STATUSES[sub.status] ?? sub.status}
            {sub.cancel_at ? ` — cancels on ${date(sub.cancel_at)}` : ""}
          </dd>
          {sub.pending_change && (
            <>
              <dt>Scheduled</dt>
              <dd>
                {tierName(sub.pending_change.tier)} ({INTERVALS[sub.pending_change.interval]}) from {date(sub.pending_change.effective_from)}
              </dd>
            </>
          )}
        </dl>
        {sub.cancel_at ? (
          <button type="button" onClick={() => undo.mutate()} disabled={undo.isPending}>
            Keep my plan (undo the cancellation)
          </button>
        ) : (
          <button type="button" onClick={() => cancel.mutate()} disabled={cancel.isPending}>
            Cancel at the end of the period ({periodEnd})
          </button>
        )}
        {cancel.isError && <ErrorState error={cancel.error} />}
        {undo.isError && <ErrorState error={undo.error} />}
      </section>

      <section className="card" aria-labelledby="change-heading">
        <h2 id="change-heading">Change plan</h2>
        <p className="hint">
          An upgrade starts at once and this period&apos;s base fee is prorated; a downgrade starts when the period
          ends ({periodEnd}). Changes are refused while a payment is past due: pay the open invoice first.
        </p>
        <PlanPicker
          id="change"
          tiers={TIERS.map((t) => ({ value: t, label: `${tierName(t)}${t === sub.tier ? " (current)" : ""}` }))}
          tier={tier}
          onTier={pickTier}
          intervals={offered}
          interval={interval}
          onInterval={(i) => { setBilling(i); setReviewing(false); }}
          onReview={() => setReviewing(true)}
        >
          <button type="submit" disabled={kind === "none" || blocked}>
            Review the change
          </button>
        </PlanPicker>
        {blocked && (
          // The way out named and linked: the invoices page is where the open invoice is paid.
          <p role="alert">
            Your account is {(STATUSES[sub.status] ?? sub.status).toLowerCase()}: <Link to="/invoices">pay the open invoice</Link> to change plan.
          </p>
        )}
        {reviewing && kind !== "none" && (
          <Review
            label="Review the change"
            intro={
              kind === "upgrade"
                ? `Upgrade to ${tierName(tier)} (${INTERVALS[interval as keyof typeof INTERVALS]}) now: the rest of this period's base fee is charged prorated today.`
                : `Downgrade to ${tierName(tier)} (${INTERVALS[interval as keyof typeof INTERVALS]}) on ${periodEnd}: nothing is charged now; the next invoice uses the new plan.`
            }
            queryKey={[sub.id, tier, interval]}
            load={() => previewChange(sub.id, wanted)}
            confirm={`Confirm the ${kind}`}
            pending={change.isPending}
            onConfirm={() => change.mutate(wanted)}
            onBack={() => setReviewing(false)}
          />
        )}
        {change.isError && <ErrorState error={change.error} />}
        {change.isSuccess && <p role="status">Done: your plan is {tierName(change.data.tier)}{change.data.pending_change ? `, ${tierName(change.data.pending_change.tier)} from ${date(change.data.pending_change.effective_from)}` : ""}.</p>}
      </section>
    </div>
  );
}
