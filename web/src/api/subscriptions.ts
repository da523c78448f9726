import { api, unwrap, type Schemas } from "./client";

export type Subscription = Schemas["SubscriptionOut"];

/** How a billing interval is named on every page. */
export const INTERVALS = { month: "Monthly", year: "Annual" } as const;

/** The organization's live subscription (the newest not canceled), or null when it has none: the plan page and
 * the dashboard share it. */
export const subscriptionQuery = (org: string) => ({
  queryKey: ["subscription", org],
  queryFn: async (): Promise<Subscription | null> => {
    const { subscriptions } = unwrap(
      await api.GET("/api/billing/organizations/{id}/subscriptions", { params: { path: { id: org } } }),
    );
    return subscriptions.find((s) => s.status !== "canceled") ?? null;
  },
});
