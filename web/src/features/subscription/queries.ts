import { api, unwrap, type Schemas } from "../../api/client";

export type Change = Schemas["SubscriptionUpdate"];

export async function changePlan(id: string, change: Change) {
  return unwrap(await api.PUT("/api/billing/subscriptions/{id}", { params: { path: { id } }, body: change }));
}

export async function cancelAtPeriodEnd(id: string) {
  return unwrap(await api.POST("/api/billing/subscriptions/{id}/cancel", { params: { path: { id } }, body: { immediately: false } }));
}

export async function reactivate(id: string) {
  return unwrap(await api.POST("/api/billing/subscriptions/{id}/reactivate", { params: { path: { id } } }));
}

export type PlanList = Schemas["PlanList"];
export type Plan = Schemas["PlanOut"];
export type Preview = Schemas["SubscriptionPreview"];

/** The public catalog's tiers, side by side (no session needed). */
export const plansQuery = () => ({
  queryKey: ["plans"],
  queryFn: async (): Promise<PlanList> => unwrap(await api.GET("/api/billing/plans")),
});

/** What a change would charge now and on the next invoice, computed by the API's rating code; nothing applied. */
export async function previewChange(id: string, change: Required<Change>) {
  return unwrap(
    await api.POST("/api/billing/subscriptions/{id}/preview", {
      params: { path: { id } },
      body: { action: "change", tier: change.tier, interval: change.interval, immediately: false },
    }),
  );
}
