import { useQuery } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { date, money } from "../../ui/format";
import { QueryView } from "../../ui/states";
import { InvoiceLines } from "../../sections/billing/InvoiceLines";
import type { Preview } from "./queries";

/** The preview's figures (the API's own rating code, nothing applied): for a change, what it charges now and the
 * invoices with it; for a new subscription, its first invoice line by line and the next. `children` gets them to
 * confirm. */
export function ChangePreview({
  queryKey,
  load,
  children,
}: {
  queryKey: readonly unknown[];
  load: () => Promise<Preview>;
  children: (preview: Preview) => ReactNode;
}) {
  const preview = useQuery({ queryKey: ["preview", ...queryKey], queryFn: load });
  return (
    <QueryView query={preview} what="the preview">
      {(p) => (
        <>
          {p.change === "create" ? <FirstInvoice p={p} /> : <ChangeFacts p={p} />}
          {children(p)}
        </>
      )}
    </QueryView>
  );
}

function ChangeFacts({ p }: { p: Preview }) {
  return (
    <dl className="facts">
      <dt>Charged now</dt>
      <dd>{chargedNow(p)}</dd>
      <dt>This period&apos;s invoice</dt>
      <dd>
        {money(p.preview_invoice_total, p.currency)} (so far; {money(p.current_invoice_total, p.currency)} without the change)
      </dd>
      <dt>Next invoice</dt>
      <dd>
        {money(p.next_invoice_total, p.currency)} on {date(p.next_period.start)}, before usage
      </dd>
      <dt>New terms from</dt>
      <dd>{date(p.effective_from)}</dd>
    </dl>
  );
}

function FirstInvoice({ p }: { p: Preview }) {
  return (
    <>
      <dl className="facts">
        <dt>First invoice</dt>
        <dd>
          {money(p.preview_invoice_total, p.currency)} for {date(p.current_period.start)} – {date(p.current_period.end)}, before
          usage
        </dd>
        <dt>Then</dt>
        <dd>
          {money(p.next_invoice_total, p.currency)} on {date(p.next_period.start)}, before usage
        </dd>
        <dt>Starts</dt>
        <dd>{date(p.effective_from)}</dd>
      </dl>
      {p.preview_invoice && p.preview_invoice.lines.length > 0 && (
        <InvoiceLines doc={p.preview_invoice} label="The first invoice's lines" />
      )}
    </>
  );
}

/** The proration in words: a charge, a credit (negative), or nothing. */
function chargedNow(p: Preview): string {
  const amount = p.proration.trim();
  if (/^-?0*(\.0*)?$/.test(amount)) return `Nothing (${money("0", p.currency)})`;
  if (amount.startsWith("-")) return `${money(amount.slice(1), p.currency)} credited (proration)`;
  return `${money(amount, p.currency)} (the proration of this period's base fee)`;
}
