import type { QueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "./client";

export type Subscription = Schemas["SubscriptionOut"];

/** How a billing interval is named on every page. */
export const INTERVALS = { month: "Monthly", year: "Annual" } as const;

/** How a subscription's status is named on every page (never the API's `past_due`). */
export const STATUSES: Record<string, string> = {
  trialing: "Trialing",
  active: "Active",
  past_due: "Past due",
  unpaid: "Unpaid",
  canceled: "Canceled",
};

/** The account's live subscription (the one not canceled), or null when it has none: an organization's or a
 * person's own account alike (GET /subscriptions?account=), so the plan page and the dashboard share it. */
export const subscriptionQuery = (account: string) => ({
  queryKey: ["subscription", account],
  queryFn: async (): Promise<Subscription | null> => {
    const { subscriptions } = unwrap(await api.GET("/api/billing/subscriptions", { params: { query: { account } } }));
    return subscriptions.find((s) => s.status !== "canceled") ?? null;
  },
});

/** After a plan is made, changed, cancelled or kept: every figure the app holds may follow from the plan (the
 * period, the next invoice, the forecast, the quotas), so all are read again rather than some left stale. */
export function planChanged(client: QueryClient): Promise<void> {
  return client.invalidateQueries();
}
