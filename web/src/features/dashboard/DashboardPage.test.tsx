import { screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { renderPage, serve } from "../../test/render";
import { DashboardPage } from "./DashboardPage";

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

afterEach(() => vi.unstubAllGlobals());

describe("DashboardPage", () => {
  it("says it is loading", () => {
    serve({ "/api/billing/usage/current": "pending" });
    renderPage(<DashboardPage />);
    expect(screen.getByRole("status")).toHaveTextContent("Loading your usage");
  });

  it("shows the API's error in words", async () => {
    serve({ "/api/billing/usage/current": { status: 403, body: { error: { code: "forbidden", message: "viewers may not read usage" } } } });
    renderPage(<DashboardPage />);
    expect(await screen.findByRole("alert")).toHaveTextContent("viewers may not read usage");
  });

  it("shows plan, usage with warnings and caps, and the next invoice", async () => {
    const calls = serve({ "/api/billing/usage/current": { body: USAGE }, "/api/billing/invoices/upcoming": { body: UPCOMING }, "/api/billing/usage/history": { body: HISTORY } });
    renderPage(<DashboardPage />);
    expect(await screen.findByText("standard")).toBeInTheDocument();
    expect(screen.getByText("Active")).toBeInTheDocument();
    const api = screen.getByRole("row", { name: /api_calls/ });
    expect(within(api).getByText(/85 % — nearing the included amount/)).toBeInTheDocument();
    const ai = screen.getByRole("row", { name: /ai_requests/ });
    expect(within(ai).getByText(/120 % — over the included amount/)).toBeInTheDocument();
    expect(within(ai).getByText(/Hard cap 1,200 — reached/)).toBeInTheDocument();
    const storage = screen.getByRole("row", { name: /storage_gb/ });
    expect(within(storage).queryByText(/nearing|over/)).toBeNull();
    expect(await screen.findByText("€53.00")).toBeInTheDocument();
    expect(within(ai).getByText("€4.00")).toBeInTheDocument();
    expect(screen.getByText(/As of .* live figures, provisional/)).toBeInTheDocument();
    // Nothing settled yet, but today's live use is drawn (as provisional).
    expect(await screen.findByRole("figure", { name: "Daily api_calls, this period and the previous one" })).toBeInTheDocument();
    // Every call names the session's account.
    expect(calls.every((r) => new URL(r.url).searchParams.get("account") === "org_acme")).toBe(true);
  });

  it("says when the plan meters nothing", async () => {
    serve({ "/api/billing/usage/current": { body: { ...USAGE, metrics: [] } }, "/api/billing/invoices/upcoming": { body: UPCOMING }, "/api/billing/usage/history": { body: HISTORY } });
    renderPage(<DashboardPage />);
    expect(await screen.findByText(/meters nothing yet/)).toBeInTheDocument();
  });
});
