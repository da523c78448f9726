import { Link } from "react-router-dom";
import { invoicePdfHref } from "../../api/invoices";
import type { Schemas } from "../../api/client";
import { date, money } from "../../ui/format";
import { InvoiceStatus } from "../../ui/InvoiceStatus";
import { TableWrap } from "../../ui/TableWrap";

/** Finalized invoices: number (to the invoice's page), period, total, status, due date and PDF. The invoices page
 * and the admin panel's billing show the same table. */
export function InvoiceTable({ invoices }: { invoices: Schemas["InvoiceSummary"][] }) {
  return (
    <TableWrap label="Invoices">
      <thead>
        <tr>
          <th scope="col">Number</th>
          <th scope="col">Period</th>
          <th scope="col" className="num">Total</th>
          <th scope="col">Status</th>
          <th scope="col">Due</th>
          <th scope="col">PDF</th>
        </tr>
      </thead>
      <tbody>
        {invoices.map((inv) => (
          <tr key={inv.invoice_id}>
            <th scope="row">
              <Link to={`/invoices/${encodeURIComponent(inv.invoice_id)}`}>{inv.number ?? inv.invoice_id}</Link>
            </th>
            <td>
              {date(inv.period_start)} – {date(inv.period_end)}
            </td>
            <td className="num">{money(inv.total, inv.currency)}</td>
            <td>
              <InvoiceStatus status={inv.status} overdue={inv.overdue ?? false} />
            </td>
            <td>{inv.due_date ? date(inv.due_date) : "—"}</td>
            <td>
              <a href={invoicePdfHref(inv.invoice_id)} download>
                Download PDF<span className="visually-hidden"> of invoice {inv.number ?? inv.invoice_id}</span>
              </a>
            </td>
          </tr>
        ))}
      </tbody>
    </TableWrap>
  );
}
