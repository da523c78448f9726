import { Fragment } from "react";
import type { Contract } from "../../api/billing";
import type { Schemas } from "../../api/client";
import { date, money, quantity, unitPrice } from "../../ui/format";
import { TableWrap } from "../../ui/TableWrap";
import { Empty } from "../../ui/states";
import { useNames } from "../../api/plans";

type ContractOut = Schemas["ContractOut"];

const COLLECTION: Record<string, string> = {
  none: "not collected",
  charge_automatically: "charged to the default payment method",
  send_invoice: "sent as an invoice",
};

const fees = (fee: Record<string, string> | null | undefined) =>
  fee && Object.keys(fee).length > 0
    ? Object.entries(fee)
        .map(([interval, amount]) => `${money(amount, "usd")} a ${interval}`)
        .join(", ")
    : null;

/** The enterprise contract in effect (read-only here: platform operators set it), or why the catalog's prices apply. */
export function ContractView({ data }: { data: ContractOut }) {
  const names = useNames();
  const c = data.contract;
  if (!c) return <Empty>No enterprise contract: the plan's catalog prices apply.</Empty>;
  return (
    <>
      <dl className="facts">
        {data.effective_from && (
          <>
            <dt>In effect since</dt>
            <dd>{date(data.effective_from)}</dd>
          </>
        )}
        <ContractFacts contract={c} termEndsOn={data.term_ends_on ?? null} />
      </dl>
      {c.seats && (
        <TableWrap label="Contract seat prices">
          <thead>
            <tr>
              <th scope="col">Seats up to</th>
              <th scope="col" className="num">Per seat</th>
              <th scope="col" className="num">Flat</th>
            </tr>
          </thead>
          <tbody>
            {c.seats.tiers.map((t) => (
              <tr key={t.up_to ?? "rest"}>
                <th scope="row">{t.up_to === null || t.up_to === undefined ? "and above" : quantity(t.up_to)}</th>
                <td className="num">{money(t.unit_amount ?? "0", "usd")}</td>
                <td className="num">{money(t.flat_amount ?? "0", "usd")}</td>
              </tr>
            ))}
          </tbody>
        </TableWrap>
      )}
      {Object.keys(c.metrics ?? {}).length > 0 && (
        <TableWrap label="Contract usage prices">
          <thead>
            <tr>
              <th scope="col">Metric</th>
              <th scope="col" className="num">Included</th>
              <th scope="col" className="num">Unit price</th>
              <th scope="col" className="num">Hard cap</th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(c.metrics ?? {}).map(([metric, rule]) => (
              <tr key={metric}>
                <th scope="row">{names.metric(metric)}</th>
                <td className="num">{rule.included ? quantity(rule.included) : "—"}</td>
                <td className="num">{rule.unit_price ? unitPrice(rule.unit_price, "usd") : "—"}</td>
                <td className="num">{rule.hard_cap ? quantity(rule.hard_cap) : "—"}</td>
              </tr>
            ))}
          </tbody>
        </TableWrap>
      )}
      {data.pending_contract && data.pending_effective_from && (
        <p>A contract change is scheduled from {date(data.pending_effective_from)}.</p>
      )}
    </>
  );
}

function ContractFacts({ contract: c, termEndsOn }: { contract: Contract; termEndsOn: string | null }) {
  const rows: [string, string][] = [];
  const base = fees(c.base_fee);
  if (base) rows.push(["Base fee", base]);
  const platform = fees(c.platform_fee);
  if (platform) rows.push(["Platform fee", platform]);
  if (c.seat_mode) rows.push(["Seat pricing", c.seat_mode === "volume" ? "volume (all seats at the tier reached)" : "graduated (each tier at its price)"]);
  if (c.seat_basis) rows.push(["Seats billed", c.seat_basis === "active" ? "people with any use this period" : "the most members at once"]);
  if (c.minimum_seats !== null && c.minimum_seats !== undefined) rows.push(["Minimum seats", String(c.minimum_seats)]);
  if (c.commitment)
    rows.push(["Commitment", `${money(c.commitment.amount, "usd")} per ${c.commitment.per === "contract_year" ? "contract year" : "period"}`]);
  if (c.payment_terms)
    rows.push([
      "Payment terms",
      `${COLLECTION[c.payment_terms.collection] ?? c.payment_terms.collection}${
        c.payment_terms.days_until_due ? `, due in ${c.payment_terms.days_until_due} days` : ""
      }`,
    ]);
  if (c.term) {
    rows.push(["Term", `${date(c.term.starts_on)} to ${date(c.term.ends_on)}`]);
    rows.push([
      "Renewal",
      c.term.renewal === "auto_renew" ? `renews for ${c.term.renewal_months ?? 12} months at a time` : "ends at the term's end",
    ]);
  }
  if (termEndsOn) rows.push(["Current term ends", date(termEndsOn)]);
  for (const [addon, price] of Object.entries(c.addons ?? {})) rows.push([`Add-on ${addon}`, money(price, "usd")]);
  return (
    <>
      {rows.map(([term, value]) => (
        <Fragment key={term}>
          <dt>{term}</dt>
          <dd>{value}</dd>
        </Fragment>
      ))}
    </>
  );
}
