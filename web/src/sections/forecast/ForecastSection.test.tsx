import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { renderPage, serve } from "../../test/render";
import { BudgetSection } from "./BudgetSection";
import { ForecastSection } from "./ForecastSection";

const FORECAST = {
  account_id: "org_acme",
  period_start: "2026-12-01T00:00:00Z",
  period_end: "2027-01-01T00:00:00Z",
  as_of: "2026-12-16T00:00:00Z",
  settled_until: "2026-12-16T14:00:00Z",
  live_until: "2026-12-16T14:35:00Z",
  days_elapsed: 15,
  days_in_period: 31,
  currency: "usd",
  total: { to_date: "49.99", expected: "549.99", p10: "500.00", p90: "600.00" },
  metrics: [{ metric: "api_calls", to_date: "75000", expected: "155000", p10: "150000", p90: "160000", daily: Array(15).fill("5000") }],
  lines: [],
};
const RECS = {
  account_id: "org_acme",
  currency: "usd",
  min_saving: "10.00",
  tier: "standard",
  recommendations: [
    { kind: "annual", title: "Pay standard yearly instead of monthly", saving: "99.98", periods: 12, current_total: "599.88", alternative_total: "499.90" },
  ],
};

afterEach(() => vi.unstubAllGlobals());

describe("ForecastSection", () => {
  it("shows the expected invoice, its range, a budget it passes and the recommendations", async () => {
    serve({
      "/api/billing/forecast": { body: FORECAST },
      "/api/billing/recommendations": { body: RECS },
      "/api/billing/budgets": { body: { account_id: "org_acme", amount: "300.00", currency: "usd" } },
    });
    renderPage(<ForecastSection account="org_acme" />);
    const card = await screen.findByRole("region", { name: "Forecast for this period" });
    expect(await within(card).findByText("$549.99")).toBeInTheDocument();
    expect(card).toHaveTextContent("$500.00 – $600.00");
    expect(await within(card).findByText(/the forecast passes it/)).toBeInTheDocument();
    expect(card).toHaveTextContent("From the 15 settled days of 31");
    expect(card).toHaveTextContent(/Today's usage settled to 2:00\sPM UTC is in it, and live figures to 2:35\sPM UTC\./);
    const recs = screen.getByRole("region", { name: "Ways to pay less" });
    expect(await within(recs).findByText("Pay standard yearly instead of monthly")).toBeInTheDocument();
    expect(recs).toHaveTextContent("Saves $99.98 over 12 periods: $499.90 instead of $599.88.");
  });

  it("says plainly when nothing would save enough", async () => {
    serve({
      "/api/billing/forecast": { body: FORECAST },
      "/api/billing/recommendations": { body: { ...RECS, recommendations: [] } },
      "/api/billing/budgets": { body: { account_id: "org_acme", amount: null, currency: "usd" } },
    });
    renderPage(<ForecastSection account="org_acme" />);
    expect(await screen.findByText(/Nothing would save you \$10.00 or more/)).toBeInTheDocument();
  });
});

describe("BudgetSection", () => {
  it("sets the budget through the API and says so; a refusal is shown in words", async () => {
    const calls = serve({
      "GET /api/billing/budgets": { body: { account_id: "org_acme", amount: null, currency: "usd" } },
      "PUT /api/billing/budgets": { body: { account_id: "org_acme", amount: "300.00", currency: "usd" } },
      "/api/billing/forecast": { body: FORECAST },
    });
    renderPage(<BudgetSection account="org_acme" />);
    expect(await screen.findByText("None set")).toBeInTheDocument();
    await userEvent.type(screen.getByLabelText(/New budget/), "300");
    await userEvent.click(screen.getByRole("button", { name: "Save budget" }));
    expect(await screen.findByText("Saved: $300.00 a period.")).toBeInTheDocument();
    const put = calls.find((c) => c.method === "PUT");
    expect(put && (await put.clone().json())).toEqual({ amount: "300" });

    serve({
      "GET /api/billing/budgets": { body: { account_id: "org_acme", amount: null, currency: "usd" } },
      "PUT /api/billing/budgets": { status: 403, body: { error: { code: "forbidden", message: "the role viewer may not set the organization's budget" } } },
      "/api/billing/forecast": { body: FORECAST },
    });
    await userEvent.type(screen.getByLabelText(/New budget/), "5");
    await userEvent.click(screen.getByRole("button", { name: "Save budget" }));
    await waitFor(() => expect(screen.getByRole("status")).toHaveTextContent("may not set the organization's budget"));
  });
});
