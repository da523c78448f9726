import { api, unwrap } from "./client";

/** Live period-to-date usage per metric with its provisional charges (the quota state, seconds behind): the
 * dashboard and the admin panel's provisional-versus-settled view share it. */
export const usageCurrentQuery = (account: string) => ({
  queryKey: ["usage-current", account],
  queryFn: async () => unwrap(await api.GET("/api/billing/usage/current", { params: { query: { account } } })),
});

/** Settled usage per metric over [from, to) as one row per metric (the hourly warehouse rollup). */
export const settledUsageQuery = (account: string, from: string, to: string) => ({
  queryKey: ["usage-settled", account, from, to],
  queryFn: async () =>
    unwrap(
      await api.GET("/api/billing/usage/history", {
        params: { query: { account, granularity: "period", from, to } },
      }),
    ),
});

/** A user's own settled usage of the account this period, per metric (a member reads only their own). */
export const usageShareQuery = (account: string, user: string) => ({
  queryKey: ["usage-share", account, user],
  queryFn: async () =>
    unwrap(await api.GET("/api/billing/usage/share", { params: { query: { account, user_id: user } } })),
});
