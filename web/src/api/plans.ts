import { useQuery } from "@tanstack/react-query";
import { namesFrom, type Names } from "../ui/names";
import { api, unwrap, type Schemas } from "./client";

export type PlanList = Schemas["PlanList"];
export type Plan = Schemas["PlanOut"];

/** The public catalog's tiers, side by side (no session needed). */
export const plansQuery = () => ({
  queryKey: ["plans"],
  queryFn: async (): Promise<PlanList> => unwrap(await api.GET("/api/billing/plans")),
  staleTime: 5 * 60_000, // the catalog changes with a release, not while a page is open
});

/** A tier's name as people read it: the catalog's `display_name` ("Standard" for `standard`), the one home of
 * tier names; the stored id only until the plans have loaded, or for a tier the catalog no longer offers. */
export function useTierName(): (tier: string) => string {
  const plans = useQuery(plansQuery());
  return (tier) => plans.data?.plans.find((p) => p.tier === tier)?.display_name ?? tier;
}

/** Metric and feature names as people read them: the catalog's words (served with the plans), the one home. */
export function useNames(): Names {
  const plans = useQuery(plansQuery());
  return namesFrom(plans.data);
}
