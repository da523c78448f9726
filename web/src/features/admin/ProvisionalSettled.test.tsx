import { screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { renderPage, serve } from "../../test/render";
import { ProvisionalSettled, pending } from "./ProvisionalSettled";
import { PLANS } from "../../test/plans";

const PERIOD = { key: "2026-12", start: "2026-12-01T00:00:00Z", end: "2027-01-01T00:00:00Z" };
const metric = (name: string, used: string, charge: string) => ({
  metric: name, used, included: "1000", remaining: "0", hard_cap: null, over_limit: false, hard_capped: false,
  entitled: true, provisional_charge: charge,
});
const CURRENT = {
  account_id: "org_acme", tier: "enterprise", status: "active", period: PERIOD, live: true, provisional_total: "3.20",
  metrics: [metric("api_calls", "1250", "2.50"), metric("ai_requests", "40.5", "0.70"), metric("active_user", "3", "150.00")],
};
const row = (name: string, q: string) => ({ metric: name, quantity: q, events: 1, start: PERIOD.start, end: PERIOD.end, user_id: null });
const SETTLED = { account_id: "org_acme", granularity: "period", rows: [row("api_calls", "1000"), row("ai_requests", "40"), row("active_user", "9")] };
const UPCOMING = {
  account_id: "org_acme", currency: "usd", period_start: PERIOD.start, period_end: PERIOD.end, status: "draft",
  subtotal: "1002.00", total: "1002.00", lines: [],
};

function api(extra: Record<string, { status?: number; body?: unknown } | "pending"> = {}) {
  return serve({
    "/api/billing/plans": { body: PLANS }, // the catalog's metric names
    "/api/billing/usage/current": { body: CURRENT },
    "/api/billing/usage/history": { body: SETTLED },
    "/api/billing/invoices/upcoming": { body: UPCOMING },
    ...extra,
  });
}

afterEach(() => vi.unstubAllGlobals());

describe("ProvisionalSettled", () => {
  it("sets the live figures beside the settled ones, with what is not settled yet", async () => {
    const calls = api();
    renderPage(<ProvisionalSettled org="org_acme" period={PERIOD} />);
    const table = await screen.findByRole("region", { name: "Provisional and settled usage" });
    const cells = (name: string) => within(within(table).getByRole("row", { name: new RegExp(`^${name}`) })).getAllByRole("cell");
    expect(cells("API calls").map((c) => c.textContent)).toEqual(["1,250", "1,000", "250", "$2.50"]);
    expect(cells("AI requests").map((c) => c.textContent)).toEqual(["40.5", "40", "0.5", "$0.70"]);
    expect(cells("Active users")[1]).toHaveTextContent("at settlement");
    expect(screen.getByText(/\$3\.20 \(live usage priced now\)/)).toBeInTheDocument();
    expect(await screen.findByText(/\$1,002\.00 \(fees, usage, credits and tax/)).toBeInTheDocument();
    const history = new URL(calls.find((c) => c.url.includes("/usage/history"))?.url ?? "http://none/");
    expect(history.searchParams.get("granularity")).toBe("period");
    expect(history.searchParams.get("from")).toBe(PERIOD.start);
    expect(history.searchParams.get("account")).toBe("org_acme");
  });

  it("says when the plan meters nothing", async () => {
    api({ "/api/billing/usage/current": { body: { ...CURRENT, metrics: [] } }, "/api/billing/usage/history": { body: { ...SETTLED, rows: [] } } });
    renderPage(<ProvisionalSettled org="org_acme" period={PERIOD} />);
    expect(await screen.findByText("The plan meters nothing yet.")).toBeInTheDocument();
  });

  it("says loading, and shows the API's error in words", async () => {
    api({ "/api/billing/usage/current": "pending" });
    renderPage(<ProvisionalSettled org="org_acme" period={PERIOD} />);
    expect(screen.getByText("Loading the live usage…")).toBeInTheDocument();
    vi.unstubAllGlobals();
    api({ "/api/billing/usage/history": { status: 503, body: { error: { code: "warehouse_unavailable", message: "the warehouse is not answering" } } } });
    renderPage(<ProvisionalSettled org="org_acme" period={PERIOD} />);
    expect(await screen.findByRole("alert")).toHaveTextContent("the warehouse is not answering");
  });
});

describe("pending", () => {
  it("subtracts decimal strings exactly and never goes below zero", () => {
    expect(pending("0.3", "0.1")).toBe("0.2");
    expect(pending("1250", "1000")).toBe("250");
    expect(pending("10", "12.5")).toBe("0.0");
    expect(pending("100.000001", "100")).toBe("0.000001");
  });
});
