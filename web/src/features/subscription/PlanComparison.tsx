import { useQuery } from "@tanstack/react-query";
import { money, quantity, unitPrice } from "../../ui/format";
import { Empty, QueryView } from "../../ui/states";
import { TableWrap } from "../../ui/TableWrap";
import { plansQuery, type Plan } from "./queries";

const price = (amount: string | null, currency: string, per: string) => (amount === null ? "—" : `${money(amount, currency)} / ${per}`);
const units = (value: string | null, none: string) => (value === null ? none : quantity(value));

/** The catalog's tiers side by side (public GET /plans); `current` marks the account's tier when known. */
export function PlanComparison({ current }: { current?: string }) {
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
                <PlanCard key={plan.tier} plan={plan} currency={list.currency} isCurrent={plan.tier === current} />
              ))}
            </div>
          )
        }
      </QueryView>
    </section>
  );
}

function PlanCard({ plan, currency, isCurrent }: { plan: Plan; currency: string; isCurrent: boolean }) {
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
              <li key={f}>{f}</li>
            ))}
          </ul>
        </>
      )}
      {metrics.length > 0 && (
        <TableWrap label={`${plan.display_name}: quotas and overage`}>
          <thead>
            <tr>
              <th scope="col">Metric</th>
              <th scope="col">Included</th>
              <th scope="col">Overage</th>
              <th scope="col">Cap</th>
            </tr>
          </thead>
          <tbody>
            {metrics.map((m) => (
              <tr key={m.metric}>
                <th scope="row">{m.metric}</th>
                <td>{units(m.included, "Unlimited")}</td>
                <td>{m.overage_unit_price === null ? "—" : `${unitPrice(m.overage_unit_price, currency)} each`}</td>
                <td>{units(m.hard_cap, "None")}</td>
              </tr>
            ))}
          </tbody>
        </TableWrap>
      )}
    </article>
  );
}
