import { screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { renderPage, serve } from "../../test/render";
import { PLANS } from "../../test/plans";
import { PlanComparison } from "./PlanComparison";

afterEach(() => vi.unstubAllGlobals());

describe("PlanComparison", () => {
  it("says it is loading", () => {
    serve({ "/api/billing/plans": "pending" });
    renderPage(<PlanComparison />);
    expect(screen.getByRole("status")).toHaveTextContent("Loading the plans");
  });

  it("says when no plan is offered", async () => {
    serve({ "/api/billing/plans": { body: { ...PLANS, plans: [] } } });
    renderPage(<PlanComparison />);
    expect(await screen.findByText("No plans are offered.")).toBeInTheDocument();
  });

  it("shows the API's error in words", async () => {
    serve({ "/api/billing/plans": { status: 503, body: { error: { code: "unavailable", message: "the catalog is not loaded" } } } });
    renderPage(<PlanComparison />);
    expect(await screen.findByRole("alert")).toHaveTextContent("the catalog is not loaded");
  });

  it("puts the tiers side by side with prices, saving, quotas, overage, features and rate limits, the current one marked", async () => {
    serve({ "/api/billing/plans": { body: PLANS } });
    renderPage(<PlanComparison current="standard" />);
    const standard = await screen.findByRole("article", { name: /Standard/ });
    expect(standard).toHaveTextContent("Your current plan");
    expect(standard).toHaveTextContent("$49.00 / month");
    expect(standard).toHaveTextContent("$490.00 / year — save $98.00 a year");
    expect(standard).toHaveTextContent("600 a minute");
    expect(standard).toHaveTextContent("Priority support");
    const quotas = within(standard).getByRole("group", { name: "Standard: quotas and overage" });
    expect(quotas).toHaveTextContent("API calls100,000 included, then $0.002 each");
    expect(quotas).not.toHaveTextContent("Gpu seconds");
    const free = screen.getByRole("article", { name: /Free/ });
    expect(free).not.toHaveTextContent("Your current plan");
    expect(within(free).getByRole("group")).toHaveTextContent("API calls1,000 included, capped at 1,000");
  });

  it("says each metric in words, premium features by their price per use, and the seat prices", async () => {
    const enterprise = {
      ...PLANS.plans[2],
      seats: {
        mode: "volume" as const,
        minimum_seats: 0,
        brackets: [
          { up_to: "100", unit_amount: "50.00", flat_amount: "0" },
          { up_to: null, unit_amount: "25.00", flat_amount: "0" },
        ],
      },
      metrics: [
        { aggregation: "sum", entitled: true, fair_use_alert: null, metric: "storage_gb", included: null, overage_unit_price: null, hard_cap: "5", per_feature: {} },
        { aggregation: "sum", entitled: true, fair_use_alert: null, metric: "premium_feature", included: null, overage_unit_price: null, hard_cap: null, per_feature: { deep_research: "0.50" } },
      ],
    };
    serve({ "/api/billing/plans": { body: { ...PLANS, plans: [enterprise] } } });
    renderPage(<PlanComparison current={null} />);
    const usage = await screen.findByRole("group", { name: "Enterprise: quotas and overage" });
    expect(usage).toHaveTextContent("Storage (GB)Up to 5");
    expect(usage).toHaveTextContent("Premium feature usesPay per use: Deep research $0.50");
    expect(usage).toHaveTextContent("SeatsA seat a period: $50.00 up to 100, $25.00 above (every seat at the price its count reaches)");
  });

  it("names metrics and features by the catalog's words, not their ids", async () => {
    const named = { ...PLANS, metric_names: { api_calls: "Calls to the API" }, feature_names: { "Priority support": "Priority support" } };
    serve({ "/api/billing/plans": { body: named } });
    renderPage(<PlanComparison current="standard" />);
    const quotas = await screen.findByRole("group", { name: "Standard: quotas and overage" });
    expect(quotas).toHaveTextContent("Calls to the API100,000 included");
    expect(quotas).not.toHaveTextContent("api_calls");
  });
});
