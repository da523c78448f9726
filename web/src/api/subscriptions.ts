import { api, unwrap, type Schemas } from "./client";

export type Subscription = Schemas["SubscriptionOut"];

/** How a billing interval is named on every page. */
export const INTERVALS = { month: "Monthly", year: "Annual" } as const;

/** The account's live subscription (the one not canceled), or null when it has none: an organization's or a
 * person's own account alike (GET /subscriptions?account=), so the plan page and the dashboard share it. */
export const subscriptionQuery = (account: string) => ({
  queryKey: ["subscription", account],
  queryFn: async (): Promise<Subscription | null> => {
    const { subscriptions } = unwrap(await api.GET("/api/billing/subscriptions", { params: { query: { account } } }));
    return subscriptions.find((s) => s.status !== "canceled") ?? null;
  },
});
