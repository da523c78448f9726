import { api, unwrap, type Schemas } from "./client";

export type PaymentMethod = Schemas["PaymentMethodOut"];

/** The account's payment methods (the default marked): the payment-methods page and the dashboard share it. */
export const paymentMethodsQuery = (account: string) => ({
  queryKey: ["payment-methods", account],
  queryFn: async (): Promise<PaymentMethod[]> =>
    unwrap(await api.GET("/api/billing/payment-methods", { params: { query: { account } } })).payment_methods,
});

/** "visa ending 4242": how a method is named on every page and in its buttons' labels. */
export const describeMethod = (m: PaymentMethod) => `${m.brand ?? m.type} ending ${m.last4 ?? "????"}`;

/** "04/2030", or null when the method has no expiry (not a card). */
export const methodExpiry = (m: PaymentMethod) =>
  m.exp_month && m.exp_year ? `${String(m.exp_month).padStart(2, "0")}/${m.exp_year}` : null;
