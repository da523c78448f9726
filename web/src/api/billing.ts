import { api, unwrap, type Schemas } from "./client";

export type Organization = Schemas["OrganizationOut"];
export type OrganizationUpdate = Schemas["OrganizationUpdate"];
export type Contract = Schemas["ContractOverrides-Output"];

/** The organization with its billing details and the caller's role in it. */
export const organizationQuery = (org: string) => ({
  queryKey: ["organization", org],
  queryFn: async () => unwrap(await api.GET("/api/billing/organizations/{id}", { params: { path: { id: org } } })),
});

/** Owners and admins change the organization's settings; viewers read them (and the API refuses their writes). */
export const manages = (organization: Pick<Organization, "role"> | undefined): boolean =>
  organization?.role === "owner" || organization?.role === "admin";

export async function updateOrganization(org: string, body: OrganizationUpdate) {
  return unwrap(await api.PATCH("/api/billing/organizations/{id}", { params: { path: { id: org } }, body }));
}

/** The subscription's enterprise contract in effect now and any change scheduled (owners, admins). */
export const contractQuery = (subscription: string) => ({
  queryKey: ["contract", subscription],
  queryFn: async () =>
    unwrap(await api.GET("/api/billing/subscriptions/{id}/contract", { params: { path: { id: subscription } } })),
  retry: false,
});

export const addonsQuery = (subscription: string) => ({
  queryKey: ["addons", subscription],
  queryFn: async () =>
    unwrap(await api.GET("/api/billing/subscriptions/{id}/addons", { params: { path: { id: subscription } } })),
  retry: false,
});

/** Prepaid credit grants with what remains of each, and the balance in effect now. */
export const creditGrantsQuery = (subscription: string) => ({
  queryKey: ["credit-grants", subscription],
  queryFn: async () =>
    unwrap(
      await api.GET("/api/billing/subscriptions/{id}/credit-grants", { params: { path: { id: subscription } } }),
    ),
  retry: false,
});

/** Payment attempts on the account's invoices. */
export const paymentsQuery = (account: string) => ({
  queryKey: ["payments", account],
  queryFn: async () => unwrap(await api.GET("/api/billing/payments", { params: { query: { account } } })),
});
