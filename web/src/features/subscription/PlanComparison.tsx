import { useQuery } from "@tanstack/react-query";
import { Fragment } from "react";
import { money, quantity, unitPrice } from "../../ui/format";
import { Empty, QueryView } from "../../ui/states";
import { plansQuery, type Plan } from "../../api/plans";
import { useNames } from "../../api/plans";
import type { Names } from "../../ui/names";

type PlanMetric = Plan["metrics"][number];

/** What a plan gives of a metric, in words: included, then the overage price, the cap, or the price per use. */
export function allowance(m: PlanMetric, currency: string, names: Names): string {
  const perUse = Object.entries(m.per_feature);
  if (perUse.length > 0) return `Pay per use: ${perUse.map(([f, p]) => `${names.feature(f)} ${unitPrice(p, currency)}`).join(", ")}`;
  const parts =
    m.included === null
      ? [m.hard_cap === null ? "Unlimited" : `Up to ${quantity(m.hard_cap)}`]
      : [`${quantity(m.included)} included`];
  if (m.overage_unit_price !== null) parts.push(`then ${unitPrice(m.overage_unit_price, currency)} each`);
  if (m.included !== null && m.hard_cap !== null) parts.push(`capped at ${quantity(m.hard_cap)}`);
  if (m.fair_use_alert !== null && m.fair_use_alert !== undefined) parts.push(`fair-use alert at ${quantity(m.fair_use_alert)}`);
  return parts.join(", ");
}

/** A plan's seat prices: each bracket's price a seat, how the brackets apply, and any minimum. */
export function seatPrices(seats: NonNullable<Plan["seats"]>, currency: string): string {
  const brackets = seats.brackets.map((b) =>
    b.up_to === null ? `${money(b.unit_amount, currency)} above` : `${money(b.unit_amount, currency)} up to ${quantity(b.up_to)}`,
  );
  const how = seats.mode === "volume" ? "every seat at the price its count reaches" : "each seat at its own bracket's price";
  const minimum = seats.minimum_seats > 0 ? `; at least ${quantity(String(seats.minimum_seats))} seats` : "";
  return `A seat a period: ${brackets.join(", ")} (${how})${minimum}`;
}

const price = (amount: string | null, currency: string, per: string) => (amount === null ? "—" : `${money(amount, currency)} / ${per}`);

/** The catalog's tiers side by side (public GET /plans); `current` marks the account's tier when known, null for
 * an account without a subscription (the catalog's default plan applies). */
export function PlanComparison({ current }: { current?: string | null }) {
  const plans = useQuery(plansQuery());
  return (
    <section className="plans-section" aria-labelledby="plans-heading">
      <h2 id="plans-heading">Compare plans</h2>
      <QueryView query={plans} what="the plans">
        {(list) =>
          list.plans.length === 0 ? (
            <Empty>No plans are offered.</Empty>
          ) : (
            <div className="cards">
              {list.plans.map((plan) => (
                <PlanCard key={plan.tier} plan={plan} currency={list.currency} isCurrent={current === null ? plan.is_default : plan.tier === current} />
              ))}
            </div>
          )
        }
      </QueryView>
    </section>
  );
}

function PlanCard({ plan, currency, isCurrent }: { plan: Plan; currency: string; isCurrent: boolean }) {
  const names = useNames();
  const headingId = `plan-${plan.tier}`;
  const metrics = plan.metrics.filter((m) => m.entitled);
  return (
    <article className={isCurrent ? "card plan current" : "card plan"} aria-labelledby={headingId}>
      <h3 id={headingId}>
        {plan.display_name}
        {isCurrent && <> <span className="badge badge-paid">Your current plan</span></>}
      </h3>
      <dl className="facts">
        <dt>Monthly</dt>
        <dd>{price(plan.monthly_price, currency, "month")}</dd>
        <dt>Annual</dt>
        <dd>
          {price(plan.annual_price, currency, "year")}
          {plan.annual_saving !== null && <> — save {money(plan.annual_saving, currency)} a year</>}
        </dd>
        <dt>API calls</dt>
        <dd>{quantity(String(plan.rate_limit_per_minute))} a minute</dd>
      </dl>
      {plan.features.length > 0 && (
        <>
          <h4>Features</h4>
          <ul>
            {plan.features.map((f) => (
              <li key={f}>{names.feature(f)}</li>
            ))}
          </ul>
        </>
      )}
      {(metrics.length > 0 || plan.seats !== null) && (
        // Words per metric rather than a four-column table: three plans side by side leave a table too narrow,
        // and it clipped its last column (the cap) at desktop width.
        <div role="group" aria-label={`${plan.display_name}: quotas and overage`}>
          <h4>Usage</h4>
          <dl className="facts allowances">
            {metrics.map((m) => (
              <Fragment key={m.metric}>
                <dt>{names.metric(m.metric)}</dt>
                <dd>{allowance(m, currency, names)}</dd>
              </Fragment>
            ))}
            {plan.seats !== null && (
              <>
                <dt>Seats</dt>
                <dd>{seatPrices(plan.seats, currency)}</dd>
              </>
            )}
          </dl>
        </div>
      )}
    </article>
  );
}
