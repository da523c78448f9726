import { api, unwrap, type Schemas } from "../../api/client";

export type Role = Schemas["MemberOut"]["role"];

export const membersQuery = (org: string) => ({
  queryKey: ["members", org],
  queryFn: async () =>
    unwrap(await api.GET("/api/billing/organizations/{id}/members", { params: { path: { id: org } } })),
});

export const rolesQuery = () => ({
  queryKey: ["roles"],
  queryFn: async () => unwrap(await api.GET("/api/billing/roles")),
});

export async function changeRole(org: string, userId: string, role: Role) {
  return unwrap(
    await api.PUT("/api/billing/organizations/{id}/members/{user_id}", {
      params: { path: { id: org, user_id: userId } },
      body: { role },
    }),
  );
}

export const auditQuery = (org: string, action: string) => ({
  queryKey: ["audit", org, action],
  queryFn: async () =>
    unwrap(
      await api.GET("/api/billing/organizations/{id}/audit", {
        params: { path: { id: org }, query: { limit: 100, ...(action ? { action } : {}) } },
      }),
    ),
});

/** The CSV export is served by the API on the same origin; a plain link downloads it with the session. */
export function auditCsvHref(org: string, action: string): string {
  const query = action ? `?action=${encodeURIComponent(action)}` : "";
  return `/api/billing/organizations/${encodeURIComponent(org)}/audit.csv${query}`;
}

export type AiControlsIn = Schemas["AiControlsIn"];

export const aiControlsQuery = (org: string) => ({
  queryKey: ["ai-controls", org],
  queryFn: async () =>
    unwrap(await api.GET("/api/billing/organizations/{id}/ai-controls", { params: { path: { id: org } } })),
});

export async function putOrgAiControls(org: string, body: AiControlsIn) {
  return unwrap(await api.PUT("/api/billing/organizations/{id}/ai-controls", { params: { path: { id: org } }, body }));
}

export async function putMemberAiControls(org: string, userId: string, body: AiControlsIn) {
  return unwrap(
    await api.PUT("/api/billing/organizations/{id}/ai-controls/members/{user_id}", {
      params: { path: { id: org, user_id: userId } },
      body,
    }),
  );
}

export const invitationsQuery = (org: string) => ({
  queryKey: ["invitations", org],
  queryFn: async () =>
    unwrap(await api.GET("/api/billing/organizations/{id}/invitations", { params: { path: { id: org } } })),
});

export async function invite(org: string, body: Schemas["InvitationCreate"]) {
  return unwrap(
    await api.POST("/api/billing/organizations/{id}/invitations", { params: { path: { id: org } }, body }),
  );
}

export async function revokeInvitation(org: string, invitationId: string) {
  return unwrap(
    await api.DELETE("/api/billing/organizations/{id}/invitations/{invitation_id}", {
      params: { path: { id: org, invitation_id: invitationId } },
    }),
  );
}

export async function resendInvitation(org: string, invitationId: string) {
  return unwrap(
    await api.POST("/api/billing/organizations/{id}/invitations/{invitation_id}/resend", {
      params: { path: { id: org, invitation_id: invitationId } },
    }),
  );
}

/** Live use per member (the figures lag the events by seconds); kept current by liveUsage.ts. */
export const memberUsageQuery = (org: string) => ({
  queryKey: ["member-usage", org],
  queryFn: async () =>
    unwrap(await api.GET("/api/billing/organizations/{id}/usage/members", { params: { path: { id: org } } })),
});

export const seatsQuery = (org: string) => ({
  queryKey: ["seats", org],
  queryFn: async () =>
    unwrap(await api.GET("/api/billing/organizations/{id}/seats", { params: { path: { id: org } } })),
  refetchInterval: 5_000,
});

export type MemberUsage = Schemas["MemberUsageOut"];
export type CapStatus = Schemas["CapStatus"];

/** The invitations addressed to the signed-in person (their own session, not one acting in an organization). */
export const myInvitationsQuery = () => ({
  queryKey: ["my-invitations"],
  queryFn: async () => unwrap(await api.GET("/api/billing/invitations")),
});

export async function answerInvitation(invitationId: string, answer: "accept" | "decline") {
  const path =
    answer === "accept"
      ? ("/api/billing/invitations/{invitation_id}/accept" as const)
      : ("/api/billing/invitations/{invitation_id}/decline" as const);
  return unwrap(await api.POST(path, { params: { path: { invitation_id: invitationId } } }));
}

export const analyticsQuery = (org: string, months: number) => ({
  queryKey: ["analytics", org, months],
  queryFn: async () =>
    unwrap(
      await api.GET("/api/billing/organizations/{id}/analytics", {
        params: { path: { id: org }, query: { months } },
      }),
    ),
});

export type OrgAnalytics = Schemas["OrgAnalytics"];

export const brandingQuery = (org: string) => ({
  queryKey: ["branding", org],
  queryFn: async () =>
    unwrap(await api.GET("/api/billing/organizations/{id}/branding", { params: { path: { id: org } } })),
  staleTime: 60_000,
});

export async function putBranding(org: string, body: Schemas["BrandingIn"]) {
  return unwrap(await api.PUT("/api/billing/organizations/{id}/branding", { params: { path: { id: org } }, body }));
}

export type Branding = Schemas["BrandingOut"];
export type BrandingIn = Schemas["BrandingIn"];

/** Usage, AI cap and budget alerts raised this period (readers of the organization's billing only). */
export const alertsQuery = (org: string) => ({
  queryKey: ["alerts", org],
  queryFn: async () =>
    unwrap(await api.GET("/api/billing/organizations/{id}/alerts", { params: { path: { id: org } } })),
  refetchInterval: 10_000,
  retry: false,
});
