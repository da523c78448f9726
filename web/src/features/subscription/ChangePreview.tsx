import { useQuery } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { date, money } from "../../ui/format";
import { QueryView } from "../../ui/states";
import { previewChange, type Change, type Preview } from "./queries";

/** The preview's figures for a plan change (the API's own rating code, nothing applied); `children` gets them to confirm. */
export function ChangePreview({
  subscriptionId,
  change,
  children,
}: {
  subscriptionId: string;
  change: Required<Change>;
  children: (preview: Preview) => ReactNode;
}) {
  const preview = useQuery({
    queryKey: ["preview", subscriptionId, change.tier, change.interval],
    queryFn: () => previewChange(subscriptionId, change),
  });
  return (
    <QueryView query={preview} what="the preview">
      {(p) => (
        <>
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
          {children(p)}
        </>
      )}
    </QueryView>
  );
}

/** The proration in words: a charge, a credit (negative), or nothing. */
function chargedNow(p: Preview): string {
  const amount = p.proration.trim();
  if (/^-?0*(\.0*)?$/.test(amount)) return `Nothing (${money("0", p.currency)})`;
  if (amount.startsWith("-")) return `${money(amount.slice(1), p.currency)} credited (proration)`;
  return `${money(amount, p.currency)} (the proration of this period's base fee)`;
}
