import type { Schemas } from "../../api/client";
import { dateTime, moneyMinor } from "../../ui/format";
import { TableWrap } from "../../ui/TableWrap";

/** Payment attempts and their outcomes: an invoice's page and the admin panel's billing show the same table. */
export function PaymentTable({ payments, label }: { payments: Schemas["PaymentOut"][]; label: string }) {
  return (
    <TableWrap label={label}>
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col" className="num">Amount</th>
          <th scope="col">Method</th>
          <th scope="col">Outcome</th>
        </tr>
      </thead>
      <tbody>
        {payments.map((p) => (
          <tr key={p.id}>
            <td>{dateTime(p.at)}</td>
            <td className="num">{moneyMinor(p.amount, p.currency)}</td>
            <td>{p.method}</td>
            <td>
              {p.status}
              {p.failure_reason ? ` — ${p.failure_reason}` : ""}
            </td>
          </tr>
        ))}
      </tbody>
    </TableWrap>
  );
}
