import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { FakeEventSource } from "../../test/fakeEventSource";
import { renderPage, serve } from "../../test/render";
import { dateTime } from "../../ui/format";
import { DashboardPage } from "./DashboardPage";
import { PLANS } from "../../test/plans";

// The period around the real clock, so today's live figure falls inside it whenever the test runs.
const DAY = 86_400_000;
const PERIOD_START = new Date(Math.floor(Date.now() / DAY) * DAY - 3 * DAY).toISOString();
const PERIOD_END = new Date(Math.floor(Date.now() / DAY) * DAY + 27 * DAY).toISOString();

const USAGE = {
  account_id: "org_acme",
  tier: "standard",
  status: "active",
  live: true,
  provisional_total: "12.50",
  period: { key: "p", start: PERIOD_START, end: PERIOD_END },
  metrics: [
    { metric: "api_calls", entitled: true, used: "8500", included: "10000", remaining: "1500", hard_cap: null, hard_capped: false, over_limit: false, provisional_charge: "0.00" },
    { metric: "ai_requests", entitled: true, used: "1200", included: "1000", remaining: "0", hard_cap: "1200", hard_capped: true, over_limit: true, provisional_charge: "4.00" },
    { metric: "storage_gb", entitled: true, used: "1", included: "50", remaining: "49", hard_cap: null, hard_capped: false, over_limit: false, provisional_charge: "0.00" },
  ],
};
const UPCOMING = { account_id: "org_acme", currency: "eur", status: "draft", period_start: "2026-12-01", period_end: "2027-01-01", lines: [], subtotal: "49.00", total: "53.00" };
const HISTORY = { account_id: "org_acme", granularity: "day", rows: [] };
const METHODS = {
  account_id: "org_acme",
  payment_methods: [
    { id: "pm_amex", type: "card", brand: "amex", last4: "0005", exp_month: 12, exp_year: 2031, is_default: false },
    { id: "pm_visa", type: "card", brand: "visa", last4: "4242", exp_month: 4, exp_year: 2030, is_default: true },
  ],
};
const BREAKDOWN = {
  account_id: "org_acme",
  period: USAGE.period,
  currency: "usd",
  settled_until: "2026-12-04T10:00:00Z",
  ai: [
    { provider: "openai", model: "gpt-4o", requests: "1100", input_tokens: 250000, output_tokens: 40000, charge: "3.50" },
    { provider: "anthropic", model: "claude-3/haiku", requests: "100", input_tokens: 9000, output_tokens: 1000, charge: "0.50" },
  ],
  premium_features: [{ feature: "deep_research", uses: "4", unit_price: "0.5", charge: "2.00" }],
};
export const ORGANIZATION = { id: "org_acme", name: "Acme", billing_email: null, created_at: "2026-01-01T00:00:00Z", updated_at: "2026-01-01T00:00:00Z", role: "owner" };
const ALL = {
  "/api/billing/plans": { body: PLANS },
  "/api/billing/organizations/org_acme": { body: ORGANIZATION },
  "/api/billing/usage/current": { body: USAGE },
  "/api/billing/invoices/upcoming": { body: UPCOMING },
  "/api/billing/usage/history": { body: HISTORY },
  "/api/billing/payment-methods": { body: METHODS },
  "/api/billing/usage/breakdown": { body: BREAKDOWN },
  "/api/billing/subscriptions": {
    body: { subscriptions: [{ id: "msub_1", tier: "standard", interval: "year", status: "active", cancel_at: "2027-01-01T00:00:00Z" }] },
  },
};

afterEach(() => vi.unstubAllGlobals());

describe("DashboardPage", () => {
  it("says it is loading", () => {
    serve({ "/api/billing/usage/current": "pending" });
    renderPage(<DashboardPage />);
    expect(screen.getByRole("status")).toHaveTextContent("Loading your usage");
  });

  it("shows the API's error in words, with a way to try again", async () => {
    serve({ "/api/billing/usage/current": { status: 503, body: { error: { code: "unavailable", message: "the quota state is catching up" } } } });
    renderPage(<DashboardPage />);
    expect(await screen.findByRole("alert")).toHaveTextContent("the quota state is catching up");
    expect(screen.getByRole("button", { name: "Try again" })).toBeInTheDocument();
  });

  it("shows a person's own subscription's interval and cancellation, as an organization's", async () => {
    const calls = serve(ALL);
    renderPage(<DashboardPage />, { session: { user_id: "u_bob", organization_id: null, account_id: "u_bob" } });
    const plan = await screen.findByRole("region", { name: "Subscription" });
    expect(await within(plan).findByText("Annual")).toBeInTheDocument();
    expect(within(plan).getByText(/Canceling on Jan 1, 2027/)).toBeInTheDocument();
    const asked = calls.find((c) => new URL(c.url).pathname === "/api/billing/subscriptions");
    expect(new URL(asked?.url ?? "http://x").searchParams.get("account")).toBe("u_bob");
  });

  it("shows plan, usage with warnings and caps, and the next invoice", async () => {
    const calls = serve(ALL);
    renderPage(<DashboardPage />);
    expect(await screen.findByText("Standard")).toBeInTheDocument(); // the catalog's name for `standard`
    expect(screen.getByText("Active")).toBeInTheDocument();
    const api = screen.getByRole("row", { name: /API calls/ });
    expect(within(api).getByText(/85 % — nearing the included amount/)).toBeInTheDocument();
    const aiRow = screen.getByRole("row", { name: /AI requests/ });
    expect(within(aiRow).getByText(/120 % — over the included amount/)).toBeInTheDocument();
    expect(within(aiRow).getByText(/Hard cap 1,200 — reached/)).toBeInTheDocument();
    const storage = screen.getByRole("row", { name: /Storage \(GB\)/ });
    expect(within(storage).queryByText(/nearing|over/)).toBeNull();
    expect(await screen.findByText("€53.00")).toBeInTheDocument();
    expect(within(aiRow).getByText("€4.00")).toBeInTheDocument();
    expect(screen.getByText(/As of .* live figures, provisional/)).toBeInTheDocument();
    // Nothing settled yet, but today's live use is drawn (as provisional).
    expect(await screen.findByRole("figure", { name: "Daily API calls, this period and the previous one" })).toBeInTheDocument();
    // The interval and a pending cancellation, from the organization's subscription.
    const plan = screen.getByRole("region", { name: "Subscription" });
    expect(await within(plan).findByText("Annual")).toBeInTheDocument();
    expect(within(plan).getByText(/Canceling on Jan 1, 2027/)).toBeInTheDocument();
    // The default payment method, and where to manage it.
    expect(await within(plan).findByText(/visa ending 4242, expires 04\/2030/)).toBeInTheDocument();
    expect(within(plan).getByRole("link", { name: "Manage payment methods" })).toHaveAttribute("href", "/payment-methods");
    // AI usage by provider and model, premium features with their price and charge.
    const ai = await screen.findByRole("region", { name: "AI usage by provider and model" });
    expect(within(ai).getByRole("row", { name: /openai gpt-4o/ })).toHaveTextContent("1,100250,00040,000$3.50");
    expect(within(ai).getByRole("row", { name: /anthropic claude-3\/haiku/ })).toBeInTheDocument();
    expect(within(ai).getByText(/Settled up to/)).toBeInTheDocument();
    const premium = screen.getByRole("region", { name: "Premium features" });
    expect(within(premium).getByRole("row", { name: /Deep research/ })).toHaveTextContent("4$0.50$2.00");
    // Every call names the session's account, but the public catalog's.
    const named = (r: Request) =>
      new URL(r.url).searchParams.get("account") === "org_acme" ||
      `${new URL(r.url).pathname}/`.startsWith("/api/billing/organizations/org_acme/") ||
      new URL(r.url).pathname === "/api/billing/plans";
    expect(calls.filter((r) => !named(r)).map((r) => r.url)).toEqual([]);
  });

  it("says when the plan meters nothing, nothing is settled, and no card is on file", async () => {
    serve({
      ...ALL,
      "/api/billing/usage/current": { body: { ...USAGE, metrics: [] } },
      "/api/billing/payment-methods": { body: { account_id: "org_acme", payment_methods: [] } },
      "/api/billing/usage/breakdown": { body: { ...BREAKDOWN, settled_until: null, ai: [], premium_features: [] } },
    });
    renderPage(<DashboardPage />);
    expect(await screen.findByText(/meters nothing yet/)).toBeInTheDocument();
    expect(await screen.findByText("No AI requests settled this period yet.")).toBeInTheDocument();
    expect(screen.getByText("No premium feature uses settled this period yet.")).toBeInTheDocument();
    expect(screen.getByText("Nothing is settled yet this period.")).toBeInTheDocument();
    expect(await screen.findByRole("link", { name: "Add a card" })).toHaveAttribute("href", "/payment-methods");
  });

  it("shows the breakdown's and the payment method's errors in words, the rest still shown", async () => {
    serve({
      ...ALL,
      "/api/billing/payment-methods": { status: 403, body: { error: { code: "forbidden", message: "members may not see the cards" } } },
      "/api/billing/usage/breakdown": { status: 503, body: { error: { code: "warehouse_unavailable", message: "the warehouse is down; retry later" } } },
    });
    renderPage(<DashboardPage />);
    expect(await screen.findByText("members may not see the cards")).toBeInTheDocument();
    const ai = screen.getByRole("region", { name: "AI usage by provider and model" });
    expect(await within(ai).findByRole("alert")).toHaveTextContent("the warehouse is down; retry later");
    expect(screen.getByRole("row", { name: /API calls/ })).toBeInTheDocument();
  });

  it("takes live figures from the stream and polls when the stream fails", async () => {
    vi.stubGlobal("EventSource", FakeEventSource);
    serve(ALL);
    renderPage(<DashboardPage />);
    const row = await screen.findByRole("row", { name: /API calls/ });
    expect(screen.getByText(/Refreshed every 10 s/)).toBeInTheDocument();
    const source = FakeEventSource.last;
    expect(source?.url).toBe("/api/billing/usage/stream?account=org_acme");
    const pushed = { ...USAGE, metrics: USAGE.metrics.map((m) => (m.metric === "api_calls" ? { ...m, used: "9700", remaining: "300" } : m)) };
    source?.emit("usage", { as_of: "2026-12-04T13:45:00Z", usage: pushed });
    expect(within(row).getAllByRole("cell")[0]).toHaveTextContent("9,700");
    expect(within(row).getByText(/97 % — nearing/)).toBeInTheDocument();
    expect(screen.getByText(/^As of/)).toHaveTextContent(`As of ${dateTime("2026-12-04T13:45:00Z")}`);
    expect(screen.getByText("Updated as your usage changes.")).toBeInTheDocument();
    source?.emit("error");
    expect(screen.getByText(/Refreshed every 10 s \(the live update stream is not connected\)/)).toBeInTheDocument();
  });

  it("lets a member ask for AI access when the organization requires approval", async () => {
    const access = {
      organization_id: "org_acme", approval_required: true, scope: "self", features: ["ai_requests", "deep_research"],
      models: [{ provider: "openai", models: ["gpt-4o"] }],
      requests: [
        { id: "air_1", organization_id: "org_acme", user_id: "u_alice", feature: "deep_research", provider: null, model: null, reason: null, status: "denied", created_at: "2026-12-03T09:00:00Z", decided_at: "2026-12-03T10:00:00Z", decided_by: "user:ann", note: "not this month" },
      ],
    };
    const calls = serve({
      ...ALL,
      "/api/billing/organizations/org_acme/ai-access-requests": { body: access },
      "POST /api/billing/organizations/org_acme/ai-access-requests": {
        status: 201,
        body: { ...access.requests[0], id: "air_2", feature: null, provider: "openai", model: "gpt-4o", status: "pending", note: null },
      },
    });
    renderPage(<DashboardPage />);
    const section = await screen.findByRole("region", { name: "AI access" });
    expect(within(section).getByRole("row", { name: /Deep research/ })).toHaveTextContent("Deniednot this month");
    await userEvent.selectOptions(within(section).getByLabelText("Ask for"), "openai/gpt-4o");
    await userEvent.type(within(section).getByLabelText("Why (optional)"), "code review");
    await userEvent.click(within(section).getByRole("button", { name: "Request access" }));
    expect(await within(section).findByText(/Requested: openai\/gpt-4o/)).toBeInTheDocument();
    const post = calls.find((c) => c.method === "POST");
    expect(await post?.json()).toEqual({ provider: "openai", model: "gpt-4o", reason: "code review" });
  });
});
