import type { Schemas } from "../../api/client";
import { lineQuantity, money } from "../../ui/format";
import { TableWrap } from "../../ui/TableWrap";

type Lines = Pick<Schemas["InvoiceDocument"], "lines" | "subtotal" | "total" | "currency">;

/** An invoice's lines with its subtotal and total: an invoice, the upcoming one, a preview's first invoice. */
export function InvoiceLines({ doc, label }: { doc: Lines; label: string }) {
  return (
    <TableWrap label={label}>
      <thead>
        <tr>
          <th scope="col">Description</th>
          <th scope="col" className="num">Quantity</th>
          <th scope="col" className="num">Unit price</th>
          <th scope="col" className="num">Amount</th>
        </tr>
      </thead>
      <tbody>
        {doc.lines.map((line, i) => (
          <tr key={`${line.code}-${i}`}>
            <th scope="row">{line.description}</th>
            <td className="num">{lineQuantity(line.quantity)}</td>
            <td className="num">{money(line.unit_price, doc.currency)}</td>
            <td className="num">{money(line.amount, doc.currency)}</td>
          </tr>
        ))}
      </tbody>
      <tfoot>
        <tr>
          <th scope="row" colSpan={3}>
            Subtotal
          </th>
          <td className="num">{money(doc.subtotal, doc.currency)}</td>
        </tr>
        <tr>
          <th scope="row" colSpan={3}>
            Total
          </th>
          <td className="num">{money(doc.total, doc.currency)}</td>
        </tr>
      </tfoot>
    </TableWrap>
  );
}
