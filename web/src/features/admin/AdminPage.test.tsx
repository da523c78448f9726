import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { renderPage, serve } from "../../test/render";
import { AdminPage } from "./AdminPage";

const ORG = "/api/billing/organizations/org_acme";
const CONTROLS = {
  user_id: null, disabled_features: [], allowed_providers: null, allowed_models: null, monthly_spend_cap: null,
  monthly_request_cap: null, cap_mode: "alert", approval_required: false, updated_at: null, updated_by: null,
};
const ENTRY = {
  id: 7, at: "2026-12-04T10:00:00Z", actor: "user:u_alice", action: "member.role_changed", target: "bob",
  before: { role: "member" }, after: { role: "viewer" }, ip: "10.0.0.1", user_agent: "test",
};

function api(extra: Record<string, { status?: number; body?: unknown }> = {}) {
  return serve({
    [`${ORG}/members`]: { body: { organization_id: "org_acme", members: [{ user_id: "bob", role: "member", created_at: "2026-12-01T00:00:00Z" }] } },
    "/api/billing/roles": { body: { roles: [], permissions: [{ name: "billing.read", description: "Read billing", roles: ["owner", "admin", "viewer"] }] } },
    [`${ORG}/invitations`]: { body: { invitations: [] } },
    [`${ORG}/ai-controls`]: { body: { organization_id: "org_acme", tier_features: ["deep_research"], organization: CONTROLS, members: [] } },
    [`${ORG}/audit`]: { body: { organization_id: "org_acme", entries: [ENTRY], next_cursor: null } },
    ...extra,
  });
}

afterEach(() => vi.unstubAllGlobals());

describe("AdminPage", () => {
  it("shows the audit log with who, what and the change, and links its CSV export", async () => {
    api();
    renderPage(<AdminPage />);
    const row = await screen.findByRole("row", { name: /member.role_changed/ });
    expect(within(row).getByText("user:u_alice")).toBeInTheDocument();
    expect(within(row).getByText('{"role":"member"} → {"role":"viewer"}')).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Export CSV" })).toHaveAttribute("href", `${ORG}/audit.csv`);
  });

  it("changes a member's role through the API and says so", async () => {
    const calls = api({
      [`PUT ${ORG}/members/bob`]: { body: { user_id: "bob", role: "viewer", created_at: "2026-12-01T00:00:00Z" } },
    });
    renderPage(<AdminPage />);
    await userEvent.selectOptions(await screen.findByLabelText("Role of bob"), "viewer");
    expect(await screen.findByText("bob is now viewer.")).toBeInTheDocument();
    const put = calls.find((c) => c.method === "PUT");
    expect(await put?.json()).toEqual({ role: "viewer" });
  });

  it("shows a viewer's refusal in words instead of the controls", async () => {
    api({ [`${ORG}/invitations`]: { status: 403, body: { error: { code: "forbidden", message: "the role viewer may not do this" } } } });
    renderPage(<AdminPage />);
    expect(await screen.findByText("the role viewer may not do this")).toBeInTheDocument();
  });
});
