import { api, unwrap, type Schemas } from "./client";
import type { Names } from "../ui/names";

export type AccessRequest = Schemas["AccessRequestOut"];
export type AccessRequestIn = Schemas["AccessRequestIn"];
export type Decision = "approve" | "deny" | "revoke";

/** AI access requests (docs/ai-controls.md, "Approval workflow"): everyone's for owners, admins and viewers, the
 * caller's own for a member; with whether the caller's AI use needs approval and what may be asked for. */
export const aiAccessQuery = (org: string) => ({
  queryKey: ["ai-access", org],
  queryFn: async () =>
    unwrap(await api.GET("/api/billing/organizations/{id}/ai-access-requests", { params: { path: { id: org } } })),
});

export async function requestAiAccess(org: string, body: AccessRequestIn) {
  return unwrap(
    await api.POST("/api/billing/organizations/{id}/ai-access-requests", { params: { path: { id: org } }, body }),
  );
}

const DECISION_PATHS = {
  approve: "/api/billing/organizations/{id}/ai-access-requests/{request_id}/approve",
  deny: "/api/billing/organizations/{id}/ai-access-requests/{request_id}/deny",
  revoke: "/api/billing/organizations/{id}/ai-access-requests/{request_id}/revoke",
} as const;

export async function decideAiAccess(org: string, requestId: string, decision: Decision, note: string) {
  return unwrap(
    await api.POST(DECISION_PATHS[decision], {
      params: { path: { id: org, request_id: requestId } },
      body: { note: note.trim() || null },
    }),
  );
}

/** What a request asks for, in words. */
export function describeRequest(r: Pick<AccessRequest, "feature" | "provider" | "model">, names: Names): string {
  if (r.feature) return r.feature === "ai_requests" ? `${names.metric(r.feature)} (any allowed model)` : names.feature(r.feature);
  return !r.model || r.model === "*" ? `any ${r.provider} model` : `${r.provider}/${r.model}`;
}
