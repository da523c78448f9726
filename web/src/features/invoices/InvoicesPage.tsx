import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router-dom";
import { useSession } from "../../app/SessionContext";
import { date, money } from "../../ui/format";
import { TableWrap } from "../../ui/TableWrap";
import { Empty, QueryView } from "../../ui/states";
import { invoicesQuery } from "../../api/invoices";
import { invoicePdfHref } from "./queries";
import { InvoiceStatus } from "../../ui/InvoiceStatus";

export function InvoicesPage() {
  const { account_id } = useSession();
  const invoices = useQuery(invoicesQuery(account_id));
  return (
    <>
      <h1>Invoices</h1>
      <QueryView query={invoices} what="your invoices">
        {({ invoices: list }) =>
          list.length === 0 ? (
            <Empty>No invoices yet: the first one is made when your first period closes.</Empty>
          ) : (
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
                  {list.map((inv) => (
                    <tr key={inv.invoice_id}>
                      <th scope="row">
                        <Link to={`/invoices/${encodeURIComponent(inv.invoice_id)}`}>{inv.number ?? inv.invoice_id}</Link>
                      </th>
                      <td>
                        {date(inv.period_start)} – {date(inv.period_end)}
                      </td>
                      <td className="num">{money(inv.total, inv.currency)}</td>
                      <td>
                        <InvoiceStatus status={inv.status} overdue={inv.overdue} />
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
          )
        }
      </QueryView>
    </>
  );
}
