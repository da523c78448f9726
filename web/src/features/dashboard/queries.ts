import { api, unwrap } from "../../api/client";

/** Settled usage per day over [from, to): the account's, or one user's share of it. */
export const dailyUsageQuery = (account: string, from: string, to: string, user?: string) => ({
  queryKey: ["usage-daily", account, from, to, user ?? null],
  queryFn: async () =>
    unwrap(
      await api.GET("/api/billing/usage/history", {
        params: { query: { account, granularity: "day", from, to, ...(user === undefined ? {} : { user_id: user }) } },
      }),
    ),
});

export const usageBreakdownQuery = (account: string) => ({
  queryKey: ["usage-breakdown", account],
  queryFn: async () => unwrap(await api.GET("/api/billing/usage/breakdown", { params: { query: { account } } })),
});
