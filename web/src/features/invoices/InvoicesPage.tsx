import { useQuery } from "@tanstack/react-query";
import { useSession } from "../../app/SessionContext";
import { Empty, QueryView, READERS } from "../../ui/states";
import { invoicesQuery } from "../../api/invoices";
import { InvoiceTable } from "../../sections/billing/InvoiceTable";

export function InvoicesPage() {
  const { account_id } = useSession();
  const invoices = useQuery(invoicesQuery(account_id));
  return (
    <>
      <h1>Invoices</h1>
      <QueryView query={invoices} what="your invoices" forbidden={READERS}>
        {({ invoices: list }) =>
          list.length === 0 ? (
            <Empty>No invoices yet: the first one is made when your first period closes.</Empty>
          ) : (
            <InvoiceTable invoices={list} />
          )
        }
      </QueryView>
    </>
  );
}
