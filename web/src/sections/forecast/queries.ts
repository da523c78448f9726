import { api, unwrap, type Schemas } from "../../api/client";

export type Forecast = Schemas["Forecast"];
export type Recommendations = Schemas["Recommendations"];
export type Budget = Schemas["Budget"];

export const forecastQuery = (account: string) => ({
  queryKey: ["forecast", account],
  queryFn: async () => unwrap(await api.GET("/api/billing/forecast", { params: { query: { account } } })),
});

export const recommendationsQuery = (account: string) => ({
  queryKey: ["recommendations", account],
  queryFn: async () => unwrap(await api.GET("/api/billing/recommendations", { params: { query: { account } } })),
});

export const budgetQuery = (account: string) => ({
  queryKey: ["budget", account],
  queryFn: async () => unwrap(await api.GET("/api/billing/budgets", { params: { query: { account } } })),
});

export async function putBudget(account: string, amount: string): Promise<Budget> {
  return unwrap(await api.PUT("/api/billing/budgets", { params: { query: { account } }, body: { amount } }));
}
