import { screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { renderPage, serve } from "../../test/render";
import { PLANS } from "./fixtures";
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
    const quotas = within(standard).getByRole("region", { name: "Standard: quotas and overage" });
    expect(within(quotas).getByRole("row", { name: /api_calls/ })).toHaveTextContent(/100,000\s*\$0\.002 each\s*None/);
    expect(quotas).not.toHaveTextContent("gpu_seconds");
    const free = screen.getByRole("article", { name: /Free/ });
    expect(free).not.toHaveTextContent("Your current plan");
    expect(within(free).getByRole("row", { name: /api_calls/ })).toHaveTextContent(/1,000\s*—\s*1,000/);
  });
});
