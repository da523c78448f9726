import { api, unwrap } from "../../api/client";

export const invoiceQuery = (id: string) => ({
  queryKey: ["invoice", id],
  queryFn: async () => {
    const doc = unwrap(
      await api.GET("/api/billing/invoices/{id}", { params: { path: { id } }, headers: { Accept: "application/json" } }),
    );
    // The same path serves the PDF under Accept: application/pdf; asked for JSON, a string is a fault.
    if (typeof doc === "string") throw new Error("The invoice came back in an unexpected format.");
    return doc;
  },
});

export const invoicePaymentsQuery = (id: string) => ({
  queryKey: ["invoice-payments", id],
  queryFn: async () => unwrap(await api.GET("/api/billing/invoices/{id}/payments", { params: { path: { id } } })),
});

export async function payInvoice(id: string) {
  return unwrap(await api.POST("/api/billing/invoices/{id}/pay", { params: { path: { id } } }));
}
