import { screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { renderPage, serve } from "../../test/render";
import { DashboardPage } from "./DashboardPage";

const DAY = 86_400_000;
const PERIOD_START = new Date(Math.floor(Date.now() / DAY) * DAY - 3 * DAY).toISOString();
const PERIOD_END = new Date(Math.floor(Date.now() / DAY) * DAY + 27 * DAY).toISOString();
const YESTERDAY = new Date(Math.floor(Date.now() / DAY) * DAY - DAY).toISOString();

const ORG = { id: "org_acme", name: "Acme", billing_email: null, created_at: "2026-01-01T00:00:00Z", updated_at: "2026-01-01T00:00:00Z", role: "member" };
const SHARE = {
  account_id: "org_acme",
  user_id: "u_alice",
  period: { key: "p", start: PERIOD_START, end: PERIOD_END },
  as_of: "2026-12-04T12:00:00Z",
  settled_until: "2026-12-04T10:00:00Z",
  metrics: [
    { metric: "ai_requests", used: "42", settled: "40" },
    { metric: "api_calls", used: "1500", settled: "1500" },
  ],
};
const HISTORY = {
  account_id: "org_acme",
  granularity: "day",
  rows: [{ start: YESTERDAY, end: PERIOD_END, metric: "api_calls", user_id: "u_alice", quantity: "1500", events: 3 }],
};
const ACCESS = { organization_id: "org_acme", approval_required: true, scope: "self", features: ["deep_research"], models: [], requests: [] };
const MEMBER = {
  "/api/billing/organizations/org_acme": { body: ORG },
  "/api/billing/usage/share": { body: SHARE },
  "/api/billing/usage/history": { body: HISTORY },
  "/api/billing/organizations/org_acme/ai-access-requests": { body: ACCESS },
};

describe("DashboardPage for a member", () => {
  it("says it is loading while the role is not known yet", () => {
    serve({ "/api/billing/organizations/org_acme": "pending" });
    renderPage(<DashboardPage />);
    expect(screen.getByRole("status")).toHaveTextContent("Loading your usage");
  });

  it("shows the member's own usage, the daily chart and who sees the rest; asks nothing of the organization's", async () => {
    const calls = serve(MEMBER);
    renderPage(<DashboardPage />);
    expect(await screen.findByRole("heading", { level: 1, name: "Your usage" })).toBeInTheDocument();
    expect(screen.getByText(/totals, plan and invoices are for its owners, admins and viewers/)).toBeInTheDocument();
    const table = await screen.findByRole("region", { name: "Your usage per metric" });
    expect(within(table).getByRole("row", { name: /API calls/ })).toHaveTextContent("1,500");
    const ai = within(table).getByRole("row", { name: /AI requests/ });
    expect(within(ai).getAllByRole("cell").map((c) => c.textContent)).toEqual(["42", "40"]);
    expect(screen.getByText(/Settled up to .*; later use is live and provisional until settled/)).toBeInTheDocument();
    expect(await screen.findByRole("figure", { name: "Daily API calls, this period and the previous one" })).toBeInTheDocument();
    // The AI access card stays.
    expect(await screen.findByRole("region", { name: "AI access" })).toBeInTheDocument();
    // No error, no dead "Try again".
    expect(screen.queryByRole("alert")).toBeNull();
    expect(screen.queryByRole("button", { name: "Try again" })).toBeNull();
    // Only the member's own share is asked for: never the organization's figures, invoices or plan.
    const paths = calls.map((r) => new URL(r.url).pathname);
    for (const refused of ["/api/billing/usage/current", "/api/billing/invoices/upcoming", "/api/billing/usage/breakdown", "/api/billing/payment-methods"]) {
      expect(paths).not.toContain(refused);
    }
    const history = calls.find((r) => new URL(r.url).pathname === "/api/billing/usage/history");
    expect(new URL(history?.url ?? "http://x").searchParams.get("user_id")).toBe("u_alice");
    const share = calls.find((r) => new URL(r.url).pathname === "/api/billing/usage/share");
    expect(new URL(share?.url ?? "http://x").searchParams.get("user_id")).toBe("u_alice");
  });

  it("leaves the organization's dashboard to the other roles", async () => {
    const calls = serve({ "/api/billing/organizations/org_acme": { body: { ...ORG, role: "viewer" } }, "/api/billing/usage/current": "pending" });
    renderPage(<DashboardPage />);
    expect(await screen.findByRole("heading", { level: 1, name: "Billing dashboard" })).toBeInTheDocument();
    expect(screen.getByRole("status")).toHaveTextContent("Loading your usage");
    expect(calls.map((r) => new URL(r.url).pathname)).not.toContain("/api/billing/usage/share");
  });

  it("says when nothing is settled or used yet", async () => {
    serve({
      ...MEMBER,
      "/api/billing/usage/share": { body: { ...SHARE, settled_until: null, metrics: [{ metric: "api_calls", used: "0" }] } },
      "/api/billing/usage/history": { body: { ...HISTORY, rows: [] } },
    });
    renderPage(<DashboardPage />);
    expect(await screen.findByText(/Nothing is settled yet this period/)).toBeInTheDocument();
    expect(await screen.findByText("No API calls in this or the previous period yet.")).toBeInTheDocument();
  });

  it("shows an error of the share in words, with a way to try again", async () => {
    serve({ ...MEMBER, "/api/billing/usage/share": { status: 503, body: { error: { code: "warehouse_unavailable", message: "the warehouse is down; retry later" } } } });
    renderPage(<DashboardPage />);
    expect(await screen.findByRole("alert")).toHaveTextContent("the warehouse is down; retry later");
    expect(screen.getByRole("button", { name: "Try again" })).toBeInTheDocument();
  });
});
