import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { FakeEventSource } from "../../test/fakeEventSource";
import { renderPage, serve } from "../../test/render";
import { dateTime } from "../../ui/format";
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

const PERIOD = { key: "2026-12", start: "2026-12-01T00:00:00Z", end: "2027-01-01T00:00:00Z" };
const usageOf = (requests: string, spend: string, cap: unknown = null) => ({
  metrics: { ai_requests: requests }, ai_requests: requests, input_tokens: 1000, output_tokens: 500, ai_spend: spend,
  by_model: [{ provider: "openai", model: "gpt-4o", requests, input_tokens: 1000, output_tokens: 500, spend }], cap,
});
const USAGE = {
  organization_id: "org_acme", period: PERIOD, as_of: "2026-12-04T10:00:00Z", scope: "organization",
  organization: usageOf("12", "0.0900"),
  members: [
    { user_id: "bob", role: "member", ...usageOf("10", "0.0750", { spend_cap: null, request_cap: 10, mode: "hard", reached: ["requests"], alerts: ["requests_80", "requests_100"] }) },
    { user_id: "u_alice", role: "owner", ...usageOf("2", "0.0150") },
  ],
};
const SEATS = {
  organization_id: "org_acme", period: PERIOD, tier: "enterprise", seat_basis: "active", active: 1, billed: 1, seat_price: "50.00", seat_charge: "50.00",
  seats: [
    { user_id: "bob", role: "member", status: "active", cost: "50.00" },
    { user_id: "ian", role: "member", status: "invited", cost: "0.00" },
  ],
};

const ANALYTICS = {
  organization_id: "org_acme", as_of: "2026-12-04T10:00:00Z",
  months: [
    { month: "2026-11", metrics: { ai_requests: "40" }, invoiced: "549.99", ai_requests: "40", ai_cost: "0.3000", ai_billed: "1.00", active_users: 3, members: 4, seat_utilisation: "0.7500" },
    { month: "2026-12", metrics: {}, invoiced: null, ai_requests: "0", ai_cost: "0.0000", ai_billed: "0.00", active_users: 0, members: 4, seat_utilisation: "0.0000" },
  ],
  by_module: [{ month: "2026-11", group: "chat", metric: "ai_requests", quantity: "40", ai_cost: null }],
  by_role: [{ month: "2026-11", group: "member", metric: "ai_requests", quantity: "40", ai_cost: "0.3000" }],
};

const BRANDING = {
  organization_id: "org_acme", entitled: false, display_name: null, primary_colour: null, accent_colour: null,
  logo_url: null, sender_name: null, reply_to: null, updated_at: null, updated_by: null,
};

const ACCESS = {
  organization_id: "org_acme", approval_required: true, scope: "organization", features: ["ai_requests", "deep_research"],
  models: [{ provider: "openai", models: ["gpt-4o"] }],
  requests: [
    { id: "air_1", organization_id: "org_acme", user_id: "bob", feature: "deep_research", provider: null, model: null, reason: "market study", status: "pending", created_at: "2026-12-04T09:00:00Z", decided_at: null, decided_by: null, note: null },
    { id: "air_2", organization_id: "org_acme", user_id: "bob", feature: null, provider: "openai", model: "*", reason: null, status: "approved", created_at: "2026-12-03T09:00:00Z", decided_at: "2026-12-03T10:00:00Z", decided_by: "user:u_alice", note: null },
  ],
};

function api(extra: Record<string, { status?: number; body?: unknown }> = {}) {
  return serve({
    [ORG]: { body: { id: "org_acme", name: "Acme", role: "owner" } },
    [`${ORG}/members`]: { body: { organization_id: "org_acme", members: [{ user_id: "bob", role: "member", created_at: "2026-12-01T00:00:00Z" }] } },
    "/api/billing/roles": { body: { roles: [], permissions: [{ name: "billing.read", description: "Read billing", roles: ["owner", "admin", "viewer"] }] } },
    [`${ORG}/invitations`]: { body: { invitations: [] } },
    [`${ORG}/ai-controls`]: { body: { organization_id: "org_acme", tier_features: ["deep_research"], organization: CONTROLS, members: [] } },
    [`${ORG}/audit`]: { body: { organization_id: "org_acme", entries: [ENTRY], next_cursor: null } },
    [`${ORG}/usage/members`]: { body: USAGE },
    [`${ORG}/ai-access-requests`]: { body: ACCESS },
    [`${ORG}/seats`]: { body: SEATS },
    [`${ORG}/analytics`]: { body: ANALYTICS },
    [`${ORG}/branding`]: { body: BRANDING },
    [`${ORG}/alerts`]: { body: { organization_id: "org_acme", period: PERIOD, alerts: [{ kind: "ai_cap_alert", at: "2026-12-04T10:00:00Z", summary: "AI cap alert: AI requests of bob at 100 % of the cap", emailed: true }] } },
    ...extra,
  });
}

afterEach(() => vi.unstubAllGlobals());

describe("AdminPage for a member", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("says in one sentence who the panel is for, and shows only the member's own live use", async () => {
    serve({ [ORG]: { body: { id: "org_acme", name: "Acme", role: "member" } }, [`${ORG}/usage/members`]: { body: USAGE } });
    renderPage(<AdminPage />);
    expect(await screen.findByText(/The admin panel is for the organization's owners, admins and viewers/)).toBeInTheDocument();
    expect(screen.queryByRole("heading", { name: "People" })).not.toBeInTheDocument();
  });

  it("shows no section while the caller's role is still loading", async () => {
    const calls = serve({ [ORG]: "pending", [`${ORG}/usage/members`]: { body: USAGE } });
    renderPage(<AdminPage />);
    expect(await screen.findByText(/Loading your organization/)).toBeInTheDocument();
    expect(screen.queryByRole("heading", { name: "People" })).not.toBeInTheDocument();
    expect(calls.map((c) => new URL(c.url).pathname)).toEqual([ORG]);
  });
});

describe("AdminPage", () => {
  it("shows the audit log with who, what and the change, and links its CSV export", async () => {
    api();
    renderPage(<AdminPage />);
    const row = await screen.findByRole("row", { name: /member.role_changed/ });
    expect(within(row).getByText("user:u_alice")).toBeInTheDocument();
    // The change as the field that changed, not the documents whole.
    expect(within(row).getByRole("listitem")).toHaveTextContent("role: was member → now viewer");
    expect(screen.getByRole("link", { name: "Export CSV" })).toHaveAttribute("href", `${ORG}/audit.csv`);
  });

  it("shows each member's live AI use and that a hard cap was reached", async () => {
    api();
    renderPage(<AdminPage />);
    const usage = await screen.findByRole("region", { name: "Usage by member" });
    const bob = within(usage).getByRole("row", { name: /bob/ });
    expect(within(bob).getByText("openai/gpt-4o")).toBeInTheDocument();
    expect(within(bob).getByText(/Cap reached \(10 requests\): AI use refused/)).toBeInTheDocument();
    expect(screen.getByText(/AI requests of bob at 100 % of the cap \(emailed\)/)).toBeInTheDocument();
    const seats = screen.getByRole("region", { name: "Seats this period" });
    expect(within(within(seats).getByRole("row", { name: /ian/ })).getByText("Invited")).toBeInTheDocument();
  });

  it("takes the live usage from the organization's stream and polls when it fails", async () => {
    vi.stubGlobal("EventSource", FakeEventSource);
    api();
    renderPage(<AdminPage />);
    const facts = await screen.findByText("AI requests", { selector: "dt" });
    expect(facts.nextElementSibling).toHaveTextContent("12");
    expect(await screen.findByText(/Refreshed every 5 s \(the live update stream is not connected\)/)).toBeInTheDocument();
    const source = FakeEventSource.last;
    expect(source?.url).toBe(`${ORG}/usage/stream`);
    const members = { ...USAGE, as_of: "2026-12-04T11:30:00Z", organization: usageOf("15", "0.1200") };
    const api_calls = { metric: "api_calls", entitled: true, used: "9000", included: "10000", remaining: "1000", hard_cap: null, hard_capped: false, over_limit: false, provisional_charge: "0.00" };
    const current = { account_id: "org_acme", tier: "enterprise", status: "active", live: true, provisional_total: "0.00", period: PERIOD, metrics: [api_calls] };
    source?.emit("usage", { as_of: "2026-12-04T11:30:00Z", usage: current, members });
    expect(screen.getByText("AI requests", { selector: "dt" }).nextElementSibling).toHaveTextContent("15");
    // The organization's usage against its pooled quotas, from the same event.
    const pooled = within(screen.getByRole("region", { name: "Usage per metric" })).getByRole("row", { name: /API calls/ });
    expect(pooled).toHaveTextContent("90 % — nearing the included amount");
    expect(screen.getByText(/Updated as usage changes\./)).toHaveTextContent(`as of ${dateTime("2026-12-04T11:30:00Z")}`);
    source?.emit("error");
    expect(screen.getByText(/Refreshed every 5 s \(the live update stream is not connected\)/)).toBeInTheDocument();
  });

  it("shows monthly trends with seat utilisation, and a forecast slot", async () => {
    api({ "/api/billing/forecast": { status: 503, body: { error: { code: "unavailable", message: "nothing settled yet" } } } });
    renderPage(<AdminPage />);
    const trends = await screen.findByRole("region", { name: "Monthly trends" });
    const november = within(trends).getByRole("row", { name: /2026-11/ });
    expect(within(november).getByText("3 / 4")).toBeInTheDocument();
    expect(within(november).getByText("75 %")).toBeInTheDocument();
    expect(within(screen.getByRole("region", { name: "Forecast for this period" })).getByText("nothing settled yet")).toBeInTheDocument();
    // Each chart names what it shows on the page, not only to a screen reader.
    const cost = await screen.findByRole("figure", { name: "Cost by month: invoiced, AI cost and AI charges" });
    expect(cost).toHaveTextContent("Cost by month: invoiced, AI cost and AI charges (USD)");
    expect(screen.getByRole("figure", { name: "Usage by module and month" })).toHaveTextContent("Usage by module and month");
  });

  it("says a trend chart has nothing to show rather than drawing empty axes", async () => {
    const idle = { ...ANALYTICS, months: ANALYTICS.months.map((m) => ({ ...m, invoiced: null, ai_cost: "0.0000", ai_billed: "0.00" })), by_module: [] };
    api({ [`${ORG}/analytics`]: { body: idle } });
    renderPage(<AdminPage />);
    expect(await screen.findByRole("figure", { name: "Usage by module and month" })).toHaveTextContent("No settled usage by module in these months yet.");
    expect(screen.getByRole("figure", { name: /^Cost by month/ })).toHaveTextContent("Nothing invoiced, and no AI cost or charge, in these months yet.");
  });

  it("offers white-label only with its add-on, and saves the organization's name and colours", async () => {
    const calls = api({
      [`${ORG}/branding`]: { body: { ...BRANDING, entitled: true } },
      [`PUT ${ORG}/branding`]: { body: { ...BRANDING, entitled: true, display_name: "Acme Learning", primary_colour: "#7a1f00" } },
    });
    renderPage(<AdminPage />);
    await userEvent.type(await screen.findByLabelText("Name shown"), "Acme Learning");
    await userEvent.click(screen.getByRole("button", { name: "Save branding" }));
    expect(await screen.findByText(/now show Acme Learning/)).toBeInTheDocument();
    const put = calls.find((c) => c.method === "PUT");
    const body = await put?.json();
    expect(body).toMatchObject({ display_name: "Acme Learning", primary_colour: "#1f4fd6" });
    expect(body).not.toHaveProperty("logo"); // no file chosen: the logo is kept
  });

  it("explains white-label without the add-on", async () => {
    api();
    renderPage(<AdminPage />);
    expect(await screen.findByText(/come with the white-label add-on/)).toBeInTheDocument();
  });

  it("sets a member's monthly AI cap", async () => {
    const calls = api({
      [`PUT ${ORG}/ai-controls/members/bob`]: { body: { ...CONTROLS, user_id: "bob", monthly_request_cap: 10, cap_mode: "hard" } },
    });
    renderPage(<AdminPage />);
    await userEvent.selectOptions(await screen.findByLabelText("Member"), "bob");
    await userEvent.type(screen.getByLabelText("Request cap"), "10");
    await userEvent.selectOptions(screen.getByLabelText("When reached"), "hard");
    await userEvent.click(screen.getByRole("button", { name: "Save AI controls" }));
    expect(await screen.findByText(/monthly AI cap 10 requests \(hard\)/)).toBeInTheDocument();
    const put = calls.find((c) => c.method === "PUT");
    expect(await put?.json()).toMatchObject({ monthly_request_cap: 10, cap_mode: "hard", monthly_spend_cap: null });
  });

  it("approves a pending AI access request with a note, and switches the approval requirement", async () => {
    const calls = api({
      [`POST ${ORG}/ai-access-requests/air_1/approve`]: { body: { ...ACCESS.requests[0], status: "approved", note: "go ahead" } },
      [`PUT ${ORG}/ai-controls`]: { body: { ...CONTROLS, approval_required: true } },
    });
    renderPage(<AdminPage />);
    const pending = await screen.findByRole("region", { name: "Pending AI access requests" });
    const bob = within(pending).getByRole("row", { name: /bob/ });
    expect(bob).toHaveTextContent("market study");
    expect(within(screen.getByRole("region", { name: "Approved AI access" })).getByRole("button", { name: "Revoke any openai model for bob" })).toBeInTheDocument();
    await userEvent.type(within(bob).getByLabelText("Note to bob"), "go ahead");
    await userEvent.click(within(bob).getByRole("button", { name: "Approve Deep research for bob" }));
    expect(await screen.findByText("Approved: Deep research for bob.")).toBeInTheDocument();
    const approve = calls.find((c) => c.method === "POST" && c.url.endsWith("/approve"));
    expect(await approve?.json()).toEqual({ note: "go ahead" });

    await userEvent.click(screen.getByRole("checkbox", { name: "Members need approval for AI features and models" }));
    expect(await screen.findByText("AI use now needs approval.")).toBeInTheDocument();
    const put = calls.find((c) => c.method === "PUT" && c.url.endsWith("/ai-controls"));
    expect(await put?.json()).toMatchObject({ approval_required: true, cap_mode: "alert", disabled_features: [] });
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

  it("gives a viewer every section to read, without the controls the API would refuse them", async () => {
    const calls = api({ [ORG]: { body: { id: "org_acme", name: "Acme", role: "viewer" } } });
    renderPage(<AdminPage />);
    expect(await screen.findByText(/Your role \(viewer\) reads everything here/)).toBeInTheDocument();
    const members = await screen.findByRole("region", { name: "Members" });
    expect(within(members).getByRole("row", { name: /bob/ })).toHaveTextContent("member");
    expect(screen.queryByLabelText("Role of bob")).toBeNull();
    expect(screen.getByText("Owners and admins invite people and see the invitations still open.")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Invite" })).toBeNull();
    expect(await screen.findByRole("checkbox", { name: "Members need approval for AI features and models" })).toBeDisabled();
    expect(await screen.findByRole("region", { name: "Pending AI access requests" })).toHaveTextContent("Owners and admins decide");
    expect(screen.queryByRole("button", { name: /^Approve/ })).toBeNull();
    expect(screen.queryByRole("button", { name: "Save AI controls" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Save budget" })).toBeNull();
    // What the viewer may not read is not asked for either (no refusal shown in its place).
    expect(calls.map((c) => new URL(c.url).pathname)).not.toContain(`${ORG}/invitations`);
    expect(screen.queryByText(/Not available to your role/)).toBeNull();
  });

  it("heads the members' live usage table itself, not under the alerts before it", async () => {
    api();
    renderPage(<AdminPage />);
    const table = await screen.findByRole("region", { name: "Usage by member" });
    const before = screen
      .getAllByRole("heading", { level: 3 })
      .filter((h) => h.compareDocumentPosition(table) & Node.DOCUMENT_POSITION_FOLLOWING);
    expect(before.at(-1)).toHaveTextContent("Per member");
  });
});
