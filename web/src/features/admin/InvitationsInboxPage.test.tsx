import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { SessionContext } from "../../app/SessionContext";
import { renderPage, serve } from "../../test/render";
import { InvitationsInboxPage } from "./InvitationsInboxPage";

const PERSONAL = { user_id: "sam", organization_id: null, account_id: "sam" };
const INVITATION = {
  id: "inv_1", organization_id: "org_acme", organization_name: "Acme", user_id: "sam", email: null, role: "viewer",
  status: "pending", invited_by: "user:pat", created_at: "2026-12-04T10:00:00Z", expires_at: "2026-12-11T10:00:00Z",
  responded_at: null,
};
const ROLES = { roles: [], permissions: [{ name: "billing.read", description: "Read the billing", roles: ["owner", "viewer"] }] };

afterEach(() => vi.unstubAllGlobals());

function personal() {
  return (
    <SessionContext.Provider value={PERSONAL}>
      <InvitationsInboxPage />
    </SessionContext.Provider>
  );
}

describe("InvitationsInboxPage", () => {
  it("accepts an invitation addressed to the signed-in person", async () => {
    const calls = serve({
      "/api/billing/invitations": { body: { invitations: [INVITATION] } },
      "/api/billing/roles": { body: ROLES },
      "POST /api/billing/invitations/inv_1/accept": { body: { ...INVITATION, status: "accepted" } },
    });
    renderPage(personal());
    const card = (await screen.findByRole("heading", { name: "Acme" })).closest("li") as HTMLElement;
    expect(within(card).getByText(/pat invites you as/)).toBeInTheDocument();
    await userEvent.click(within(card).getByRole("button", { name: /Accept\s*the invitation to Acme/ }));
    expect(await screen.findByText(/You joined Acme as viewer/)).toBeInTheDocument();
    expect(calls.some((c) => c.method === "POST" && c.url.endsWith("/invitations/inv_1/accept"))).toBe(true);
  });

  it("sends a session acting in an organization to the person's own account instead", async () => {
    const calls = serve({ "/api/billing/roles": { body: ROLES } });
    renderPage(<InvitationsInboxPage />);
    expect(await screen.findByText(/answered in your own account/)).toBeInTheDocument();
    expect(calls.some((c) => c.url.endsWith("/api/billing/invitations"))).toBe(false);
  });
});
