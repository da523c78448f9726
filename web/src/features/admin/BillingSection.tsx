import { useQuery } from "@tanstack/react-query";
import {
  addonsQuery,
  contractQuery,
  creditGrantsQuery,
  organizationQuery,
  paymentsQuery,
  manages,
  type Organization,
} from "../../api/billing";
import { invoicesQuery, upcomingInvoiceQuery } from "../../api/invoices";
import type { Schemas } from "../../api/client";
import { subscriptionQuery } from "../../api/subscriptions";
import { date, money, moneyMinor, quantity } from "../../ui/format";
import { InvoiceLines } from "../../sections/billing/InvoiceLines";
import { InvoiceTable } from "../../sections/billing/InvoiceTable";
import { PaymentMethodOnFile } from "../../sections/billing/PaymentMethodOnFile";
import { PaymentTable } from "../../sections/billing/PaymentTable";
import { TableWrap } from "../../ui/TableWrap";
import { Empty, QueryView } from "../../ui/states";
import { BillingDetailsForm } from "./BillingDetailsForm";
import { ContractView } from "./ContractView";

/** Billing management: the contract, add-ons, credits, invoices, payments, balances, the upcoming invoice, billing
 * details and payment methods. Read-only but for the billing details, which owners and admins edit. */
export function BillingSection({ org }: { org: string }) {
  const organization = useQuery(organizationQuery(org));
  return (
    <section aria-labelledby="billing-heading">
      <h2 id="billing-heading">Billing</h2>
      <QueryView query={organization} what="the organization">
        {(o) =>
          // The API refuses a member every billing read; the page does not ask (the API still decides).
          o.role === "member" ? (
            <Empty>Billing is shown to owners, admins and viewers; a member sees only their own usage.</Empty>
          ) : (
            <BillingBody organization={o} />
          )
        }
      </QueryView>
    </section>
  );
}

function BillingBody({ organization }: { organization: Organization }) {
  const org = organization.id;
  const subscription = useQuery(subscriptionQuery(org));
  const invoices = useQuery(invoicesQuery(org));
  const upcoming = useQuery(upcomingInvoiceQuery(org));
  const manager = manages(organization);
  return (
    <>
      <QueryView query={invoices} what="the invoices">
        {(data) => {
          const owed = data.invoices.filter((i) => i.status === "open");
          const currency = data.invoices[0]?.currency ?? upcoming.data?.currency ?? "usd";
          // Integer minor units: summed exactly.
          const outstanding = owed.reduce((sum, i) => sum + (i.amount_remaining ?? i.amount_due ?? 0), 0);
          return (
            <>
              <dl className="facts">
                <dt>Outstanding balance</dt>
                <dd>
                  {moneyMinor(outstanding, currency)}
                  {owed.some((i) => i.overdue) ? " (overdue)" : ""}
                </dd>
                {upcoming.data && (
                  <>
                    <dt>Upcoming invoice so far</dt>
                    <dd>
                      {money(upcoming.data.total, upcoming.data.currency)} for {date(upcoming.data.period_start)} to{" "}
                      {date(upcoming.data.period_end)}
                    </dd>
                  </>
                )}
              </dl>
              <h3>Invoices</h3>
              {data.invoices.length === 0 ? (
                <Empty>No invoices yet.</Empty>
              ) : (
                <InvoiceTable invoices={data.invoices} />
              )}
            </>
          );
        }}
      </QueryView>
      <Payments org={org} />
      <h3>Upcoming invoice</h3>
      <QueryView query={upcoming} what="the upcoming invoice">
        {(inv) =>
          inv.lines.length === 0 ? (
            <Empty>Nothing on this period's invoice yet.</Empty>
          ) : (
            <InvoiceLines doc={inv} label="Upcoming invoice" />
          )
        }
      </QueryView>
      <h3>Contract</h3>
      <QueryView query={subscription} what="the subscription">
        {(sub) =>
          sub === null ? (
            <Empty>The organization has no subscription.</Empty>
          ) : manager ? (
            <SubscriptionBilling subscription={sub.id} period={sub.current_period} />
          ) : (
            <Empty>The contract, add-ons and credits are shown to owners and admins.</Empty>
          )
        }
      </QueryView>
      <h3>Billing details</h3>
      <BillingDetailsForm org={organization} canEdit={manager} />
      <h3>Payment methods</h3>
      <p>
        <PaymentMethodOnFile account={org} />
      </p>
    </>
  );
}

function SubscriptionBilling({ subscription, period }: { subscription: string; period: Schemas["Period"] }) {
  const contract = useQuery(contractQuery(subscription));
  const addons = useQuery(addonsQuery(subscription));
  const credits = useQuery(creditGrantsQuery(subscription));
  return (
    <>
      <QueryView query={contract} what="the contract">
        {(c) => <ContractView data={c} />}
      </QueryView>
      <h3>Add-ons in effect</h3>
      <QueryView query={addons} what="the add-ons">
        {({ data }) => {
          const live = data.filter((a) => inEffect(a, period));
          return live.length === 0 ? (
            <Empty>No add-ons.</Empty>
          ) : (
            <TableWrap label="Add-ons">
              <thead>
                <tr>
                  <th scope="col">Add-on</th>
                  <th scope="col">Kind</th>
                  <th scope="col" className="num">Quantity</th>
                  <th scope="col" className="num">Unit price</th>
                  <th scope="col">From</th>
                  <th scope="col">Until</th>
                </tr>
              </thead>
              <tbody>
                {live.map((a) => (
                  <tr key={a.id}>
                    <th scope="row">{a.name}</th>
                    <td>{a.kind.replace("_", "-")}</td>
                    <td className="num">{quantity(a.quantity)}</td>
                    <td className="num">{a.unit_price ? money(a.unit_price, "usd") : "—"}</td>
                    <td>{date(a.starts_at)}</td>
                    <td>{a.ends_at ? date(a.ends_at) : "open-ended"}</td>
                  </tr>
                ))}
              </tbody>
            </TableWrap>
          );
        }}
      </QueryView>
      <h3>Credits</h3>
      <QueryView query={credits} what="the credits">
        {(c) => (
          <>
            <p>Credit balance: {money(c.balance, c.data[0]?.currency ?? "usd")}</p>
            {c.data.length > 0 && (
              <TableWrap label="Credit grants">
                <thead>
                  <tr>
                    <th scope="col">Grant</th>
                    <th scope="col" className="num">Amount</th>
                    <th scope="col" className="num">Remaining</th>
                    <th scope="col">From</th>
                    <th scope="col">Expires</th>
                  </tr>
                </thead>
                <tbody>
                  {c.data.map((g) => (
                    <tr key={g.id}>
                      <th scope="row">{g.name}</th>
                      <td className="num">{money(g.amount, g.currency)}</td>
                      <td className="num">{money(g.remaining, g.currency)}</td>
                      <td>{date(g.effective_at)}</td>
                      <td>{g.expires_at ? date(g.expires_at) : "never"}</td>
                    </tr>
                  ))}
                </tbody>
              </TableWrap>
            )}
          </>
        )}
      </QueryView>
    </>
  );
}

function Payments({ org }: { org: string }) {
  const payments = useQuery(paymentsQuery(org));
  return (
    <>
      <h3>Payments</h3>
      <QueryView query={payments} what="the payments">
        {({ payments: list }) =>
          list.length === 0 ? (
            <Empty>No payments yet.</Empty>
          ) : (
            <PaymentTable payments={list} label="Payments" />
          )
        }
      </QueryView>
    </>
  );
}

/** An add-on billed in this period: a one-time one started in it; a recurring or hourly one overlapping it. */
export function inEffect(addon: Schemas["AddonOut"], period: Schemas["Period"]): boolean {
  const start = Date.parse(period.start);
  const end = Date.parse(period.end);
  const from = Date.parse(addon.starts_at);
  if (addon.kind === "one_time") return from >= start && from < end;
  return from < end && (addon.ends_at === null || Date.parse(addon.ends_at) > start);
}
