/** paid / open / overdue / void / uncollectible, as words with a colour that is not the only signal. */
export function InvoiceStatus({ status, overdue }: { status: string; overdue: boolean }) {
  const shown = status === "open" && overdue ? "overdue" : status;
  const words: Record<string, string> = {
    paid: "Paid",
    open: "Open",
    overdue: "Overdue",
    void: "Void",
    uncollectible: "Uncollectible",
    draft: "Draft",
  };
  return <span className={`badge badge-${shown}`}>{words[shown] ?? shown}</span>;
}
