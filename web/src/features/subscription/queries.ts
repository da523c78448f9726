import { api, unwrap, type Schemas } from "../../api/client";

export type Change = Schemas["SubscriptionUpdate"];
export type NewSubscription = Schemas["SubscriptionCreate"];
export type Preview = Schemas["SubscriptionPreview"];

export async function changePlan(id: string, change: Change) {
  return unwrap(await api.PUT("/api/billing/subscriptions/{id}", { params: { path: { id } }, body: change }));
}

export async function cancelAtPeriodEnd(id: string) {
  return unwrap(await api.POST("/api/billing/subscriptions/{id}/cancel", { params: { path: { id } }, body: { immediately: false } }));
}

export async function reactivate(id: string) {
  return unwrap(await api.POST("/api/billing/subscriptions/{id}/reactivate", { params: { path: { id } } }));
}

/** What a change would charge now and on the next invoice, computed by the API's rating code; nothing applied. */
export async function previewChange(id: string, change: Required<Change>): Promise<Preview> {
  return unwrap(
    await api.POST("/api/billing/subscriptions/{id}/preview", {
      params: { path: { id } },
      body: { action: "change", tier: change.tier, interval: change.interval, immediately: false },
    }),
  );
}

/** What subscribing would charge: the first invoice and the next (the same body as the create; nothing made). */
export async function previewSubscribe(wanted: NewSubscription): Promise<Preview> {
  return unwrap(await api.POST("/api/billing/subscriptions/preview", { body: wanted }));
}

export async function subscribe(wanted: NewSubscription) {
  return unwrap(await api.POST("/api/billing/subscriptions/create", { body: wanted }));
}
