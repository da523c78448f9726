import { api, unwrap } from "../../api/client";

export const usageCurrentQuery = (account: string) => ({
  queryKey: ["usage-current", account],
  queryFn: async () => unwrap(await api.GET("/api/billing/usage/current", { params: { query: { account } } })),
});

export const dailyUsageQuery = (account: string, from: string, to: string) => ({
  queryKey: ["usage-daily", account, from, to],
  queryFn: async () =>
    unwrap(
      await api.GET("/api/billing/usage/history", {
        params: { query: { account, granularity: "day", from, to } },
      }),
    ),
});

export const usageBreakdownQuery = (account: string) => ({
  queryKey: ["usage-breakdown", account],
  queryFn: async () => unwrap(await api.GET("/api/billing/usage/breakdown", { params: { query: { account } } })),
});
