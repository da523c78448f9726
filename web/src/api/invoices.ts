import { api, unwrap } from "./client";

/** The account's finalized invoices: the invoices page and the admin panel's billing section share it. */
export const invoicesQuery = (account: string) => ({
  queryKey: ["invoices", account],
  queryFn: async () => unwrap(await api.GET("/api/billing/invoices", { params: { query: { account } } })),
});

/** This period's invoice so far (a draft from the settled usage): the dashboard and the admin panel share it. */
export const upcomingInvoiceQuery = (account: string) => ({
  queryKey: ["invoice-upcoming", account],
  queryFn: async () => unwrap(await api.GET("/api/billing/invoices/upcoming", { params: { query: { account } } })),
});

/** The PDF is served by the API on the same origin; a plain link downloads it with the session cookie. */
export const invoicePdfHref = (id: string) => `/api/billing/invoices/${encodeURIComponent(id)}.pdf`;
