import { api, unwrap, unwrapEmpty } from "../../api/client";

/** A SetupIntent made by the API for the account's Stripe Customer: the card goes from the browser to Stripe only. */
export async function createSetupIntent(account: string) {
  return unwrap(await api.POST("/api/billing/payment-methods/setup-intent", { body: { account } }));
}

export async function setDefault(methodId: string, account: string) {
  return unwrap(
    await api.POST("/api/billing/payment-methods/{method_id}/default", { params: { path: { method_id: methodId } }, body: { account } }),
  );
}

export async function removeMethod(methodId: string, account: string) {
  unwrapEmpty(
    await api.DELETE("/api/billing/payment-methods/{method_id}", { params: { path: { method_id: methodId }, query: { account } } }),
  );
}
