import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { renderPage, serve } from "../../test/render";
import { PLANS } from "../../test/plans";
import { SubscriptionPage } from "./SubscriptionPage";

const SUB = {
  id: "sub_1", account_id: "org_acme", account_kind: "org", organization_id: "org_acme", tier: "standard", interval: "month",
  status: "active", anchor: "2026-12-01", cancel_at: null, change: null, pending_change: null, grace_until: null, trial_end: null,
  stripe_customer_id: null, stripe_subscription_id: null, created_at: "2026-11-01T00:00:00Z", updated_at: "2026-11-01T00:00:00Z",
  current_period: { key: "2026-12", start: "2026-12-01T00:00:00Z", end: "2027-01-01T00:00:00Z" }, versions: [],
};
const LIST = "/api/billing/subscriptions";
const PREVIEW = {
  change: "upgrade", currency: "usd", current_invoice_total: "49.00", preview_invoice_total: "304.84", proration: "255.84",
  next_invoice_total: "299.00", effective_from: "2026-12-04T13:00:00Z", next_invoice: null, preview_invoice: null,
  current_period: { key: "2026-12", start: "2026-12-01T00:00:00Z", end: "2027-01-01T00:00:00Z" },
  next_period: { key: "2027-01", start: "2027-01-01T00:00:00Z", end: "2027-02-01T00:00:00Z" },
};
const PREVIEW_ROUTE = "POST /api/billing/subscriptions/sub_1/preview";
const PLANS_ROUTE = { "/api/billing/plans": { body: PLANS } };

afterEach(() => vi.unstubAllGlobals());

describe("SubscriptionPage", () => {
  it("says it is loading", () => {
    serve({ ...PLANS_ROUTE, [LIST]: "pending" });
    renderPage(<SubscriptionPage />);
    expect(screen.getByRole("status")).toHaveTextContent("Loading your subscription");
  });

  it("says when there is no subscription", async () => {
    serve({ ...PLANS_ROUTE, [LIST]: { body: { subscriptions: [{ ...SUB, status: "canceled" }] } } });
    renderPage(<SubscriptionPage />);
    expect(await screen.findByText("This account has no subscription: the plan marked below applies.")).toBeInTheDocument();
    // The catalog's default plan is the one in effect: marked as the current one.
    expect(await screen.findByRole("article", { name: /Free/ })).toHaveTextContent("Your current plan");
  });

  it("shows the API's refusal in words, saying who may see it", async () => {
    serve({ ...PLANS_ROUTE, [LIST]: { status: 403, body: { error: { code: "forbidden", message: "viewers may not manage billing" } } } });
    renderPage(<SubscriptionPage />);
    // A refusal says so plainly and who may see it, with no "Try again" that cannot help.
    const refusal = await screen.findByText(/Not available to your role/);
    expect(refusal.closest("[role=status]")).toHaveTextContent("viewers may not manage billing");
    expect(refusal.closest("[role=status]")).toHaveTextContent(/for its owners, admins and viewers/);
    expect(screen.queryByRole("button", { name: "Try again" })).toBeNull();
  });

  it("previews an upgrade before it is confirmed, then applies it", async () => {
    const calls = serve({
      ...PLANS_ROUTE,
      [LIST]: { body: { subscriptions: [SUB] } },
      [PREVIEW_ROUTE]: { body: PREVIEW },
      "PUT /api/billing/subscriptions/sub_1": { body: { ...SUB, tier: "enterprise" } },
    });
    renderPage(<SubscriptionPage />);
    await userEvent.selectOptions(await screen.findByLabelText("Plan"), "enterprise");
    await userEvent.click(screen.getByRole("button", { name: "Review the change" }));
    const review = screen.getByRole("region", { name: "Review the change" });
    expect(review).toHaveTextContent(/Upgrade to Enterprise .* now: .* prorated/);
    expect(await within(review).findByText("$255.84 (the proration of this period's base fee)")).toBeInTheDocument();
    expect(review).toHaveTextContent("$304.84 (so far; $49.00 without the change)");
    expect(review).toHaveTextContent("$299.00 on Jan 1, 2027, before usage");
    const asked = calls.find((r) => r.method === "POST" && r.url.endsWith("/preview"));
    expect(await asked?.json()).toEqual({ action: "change", tier: "enterprise", interval: "year", immediately: false });
    expect(calls.some((r) => r.method === "PUT")).toBe(false);
    await userEvent.click(screen.getByRole("button", { name: "Confirm the upgrade" }));
    expect(await screen.findByText(/Done: your plan is Enterprise/)).toBeInTheDocument();
    const put = calls.find((r) => r.method === "PUT");
    expect(await put?.json()).toEqual({ tier: "enterprise", interval: "year" });
  });

  it("says a downgrade waits for the period end, and shows a refusal in words", async () => {
    serve({
      ...PLANS_ROUTE,
      [LIST]: { body: { subscriptions: [SUB] } },
      [PREVIEW_ROUTE]: { body: { ...PREVIEW, change: "downgrade", proration: "0.00", preview_invoice_total: "49.00", next_invoice_total: "0.00" } },
      "PUT /api/billing/subscriptions/sub_1": { status: 409, body: { error: { code: "change_pending", message: "a change is already scheduled" } } },
    });
    renderPage(<SubscriptionPage />);
    await userEvent.selectOptions(await screen.findByLabelText("Plan"), "free");
    await userEvent.click(screen.getByRole("button", { name: "Review the change" }));
    const review = screen.getByRole("region", { name: "Review the change" });
    expect(review).toHaveTextContent(/Downgrade to Free .* on Jan 1, 2027: nothing is charged now/);
    expect(await within(review).findByText("Nothing ($0.00)")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Confirm the downgrade" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("a change is already scheduled");
  });

  it("says the preview is loading, and shows its refusal in words with nothing to confirm", async () => {
    serve({
      ...PLANS_ROUTE,
      [LIST]: { body: { subscriptions: [SUB] } },
      [PREVIEW_ROUTE]: { status: 409, body: { error: { code: "past_due", message: "the account is past due" } } },
    });
    renderPage(<SubscriptionPage />);
    await userEvent.selectOptions(await screen.findByLabelText("Plan"), "enterprise");
    await userEvent.click(screen.getByRole("button", { name: "Review the change" }));
    const review = screen.getByRole("region", { name: "Review the change" });
    expect(await within(review).findByRole("alert")).toHaveTextContent("the account is past due");
    expect(within(review).queryByRole("button", { name: /Confirm/ })).toBeNull();
  });

  it("waits for the preview before offering the confirm", async () => {
    serve({ ...PLANS_ROUTE, [LIST]: { body: { subscriptions: [SUB] } }, [PREVIEW_ROUTE]: "pending" });
    renderPage(<SubscriptionPage />);
    await userEvent.selectOptions(await screen.findByLabelText("Plan"), "enterprise");
    await userEvent.click(screen.getByRole("button", { name: "Review the change" }));
    const review = screen.getByRole("region", { name: "Review the change" });
    expect(within(review).getByRole("status")).toHaveTextContent("Loading the preview");
    expect(within(review).queryByRole("button", { name: /Confirm/ })).toBeNull();
  });

  it("shows the plans side by side with the current one marked", async () => {
    serve({ ...PLANS_ROUTE, [LIST]: { body: { subscriptions: [SUB] } } });
    renderPage(<SubscriptionPage />);
    expect(await screen.findByRole("article", { name: /Standard/ })).toHaveTextContent("Your current plan");
  });

  it("offers only the intervals the catalog prices for the chosen plan", async () => {
    serve({ ...PLANS_ROUTE, [LIST]: { body: { subscriptions: [SUB] } } });
    renderPage(<SubscriptionPage />);
    await screen.findByRole("article", { name: /Standard/ });
    const billed = screen.getByLabelText("Billed");
    expect(within(billed).getAllByRole("option").map((o) => o.textContent)).toEqual(["Monthly", "Annual"]);
    await userEvent.selectOptions(screen.getByLabelText("Plan"), "enterprise");
    expect(within(billed).getAllByRole("option").map((o) => o.textContent)).toEqual(["Annual"]);
    expect(billed).toHaveValue("year");
  });

  it("refuses changes while past due and explains why", async () => {
    serve({ ...PLANS_ROUTE, [LIST]: { body: { subscriptions: [{ ...SUB, status: "past_due" }] } } });
    renderPage(<SubscriptionPage />);
    await userEvent.selectOptions(await screen.findByLabelText("Plan"), "enterprise");
    expect(screen.getByRole("button", { name: "Review the change" })).toBeDisabled();
    expect(screen.getByRole("alert")).toHaveTextContent("past due: pay the open invoice");
    expect(screen.getByRole("region", { name: "Current plan" })).toHaveTextContent("StatusPast due");
    expect(within(screen.getByRole("alert")).getByRole("link", { name: "pay the open invoice" })).toHaveAttribute("href", "/invoices");
  });

  it("cancels at the period end and offers to undo it", async () => {
    const calls = serve({
      ...PLANS_ROUTE,
      [LIST]: { body: { subscriptions: [{ ...SUB, cancel_at: "2027-01-01T00:00:00Z" }] } },
      "POST /api/billing/subscriptions/sub_1/reactivate": { body: SUB },
    });
    renderPage(<SubscriptionPage />);
    expect(await screen.findByText(/cancels on Jan 1, 2027/)).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: /Keep my plan/ }));
    await vi.waitFor(() => expect(calls.some((r) => r.method === "POST" && r.url.endsWith("/reactivate"))).toBe(true));
  });

  it("manages a person's own subscription too, not only an organization's", async () => {
    const own = { ...SUB, account_id: "u_bob", account_kind: "user" };
    const calls = serve({ ...PLANS_ROUTE, [LIST]: { body: { subscriptions: [own] } }, "POST /api/billing/subscriptions/sub_1/cancel": { body: { ...own, cancel_at: "2027-01-01T00:00:00Z" } } });
    renderPage(<SubscriptionPage />, { session: { user_id: "u_bob", organization_id: null, account_id: "u_bob" } });
    const current = await screen.findByRole("region", { name: "Current plan" });
    expect(await within(current).findByText("Standard")).toBeInTheDocument(); // the catalog's name, not `standard`
    expect(await screen.findByRole("article", { name: /Standard/ })).toHaveTextContent("Your current plan");
    await userEvent.click(within(current).getByRole("button", { name: /Cancel at the end of the period/ }));
    const listed = calls.find((c) => new URL(c.url).pathname === LIST);
    expect(new URL(listed?.url ?? "http://x").searchParams.get("account")).toBe("u_bob");
    expect(calls.some((c) => c.method === "POST" && new URL(c.url).pathname === "/api/billing/subscriptions/sub_1/cancel")).toBe(true);
  });

  it("lets a person without a subscription subscribe, after the API's preview of the first invoice", async () => {
    const person = { user_id: "u_pia", organization_id: null, account_id: "u_pia" };
    const created = { ...SUB, id: "sub_2", account_id: "u_pia", account_kind: "user", organization_id: null };
    const first = {
      ...PREVIEW, change: "create", current_invoice_total: "0", proration: "48.65", preview_invoice_total: "48.65",
      next_invoice_total: "49.99", effective_from: "2026-12-05T00:39:00Z",
      current_period: { key: "2026-12", start: "2026-12-05T00:00:00Z", end: "2027-01-05T00:00:00Z" },
      next_period: { key: "2027-01", start: "2027-01-05T00:00:00Z", end: "2027-02-05T00:00:00Z" },
      preview_invoice: {
        account_id: "u_pia", period_start: "2026-12-05", period_end: "2027-01-05", currency: "usd", status: "draft",
        subtotal: "48.65", total: "48.65",
        lines: [{
          code: "base_fee_proration", description: "Start of Standard on 2026-12-05: base fee, 0.9731 of its term left",
          quantity: "0.97311827956989247311827957", unit_price: "49.99", amount: "48.65",
        }],
      },
    };
    const calls = serve({
      ...PLANS_ROUTE,
      [LIST]: { body: { subscriptions: [] } },
      "POST /api/billing/subscriptions/preview": { body: first },
      "POST /api/billing/subscriptions/create": { status: 201, body: created },
    });
    renderPage(<SubscriptionPage />, { session: person });
    const choose = await screen.findByRole("region", { name: "Choose a plan" });
    // The plans offered are those other than the default one, by their names (Free already applies).
    const plan = await within(choose).findByLabelText("Plan");
    expect(within(plan).getAllByRole("option").map((o) => o.textContent)).toEqual(["Standard", "Enterprise"]);
    await userEvent.click(within(choose).getByRole("button", { name: "Review" }));
    const review = within(choose).getByRole("region", { name: "Review the subscription" });
    expect(review).toHaveTextContent("Subscribe to Standard (Monthly) from today");
    expect(await within(review).findByText("$48.65 for Dec 5, 2026 – Jan 5, 2027, before usage")).toBeInTheDocument();
    expect(review).toHaveTextContent("$49.99 on Jan 5, 2027, before usage");
    // The line's quantity as its description words it (0.9731), not rounded otherwise (0.973).
    const line = within(review).getByRole("row", { name: /0\.9731 of its term left/ });
    expect(within(line).getAllByRole("cell").map((c) => c.textContent)).toEqual(["0.9731", "$49.99", "$48.65"]);
    const asked = calls.find((r) => r.method === "POST" && r.url.endsWith("/subscriptions/preview"));
    const body = { tier: "standard", interval: "month", account_kind: "user", account_id: null, organization_id: null, anchor: null, trial_days: 0 };
    expect(await asked?.json()).toEqual(body);
    expect(calls.some((r) => r.url.endsWith("/create"))).toBe(false);
    await userEvent.click(within(review).getByRole("button", { name: "Subscribe to Standard" }));
    await vi.waitFor(() => expect(calls.some((r) => r.method === "POST" && r.url.endsWith("/subscriptions/create"))).toBe(true));
    const made = calls.find((r) => r.url.endsWith("/subscriptions/create"));
    expect(await made?.json()).toEqual(body);
  });

  it("subscribes an organization's account as the organization's, for its owners and admins", async () => {
    const calls = serve({
      ...PLANS_ROUTE,
      [LIST]: { body: { subscriptions: [] } },
      "/api/billing/organizations/org_acme": { body: { id: "org_acme", name: "Acme", role: "admin" } },
      "POST /api/billing/subscriptions/preview": "pending",
    });
    renderPage(<SubscriptionPage />);
    const choose = await screen.findByRole("region", { name: "Choose a plan" });
    await userEvent.selectOptions(await within(choose).findByLabelText("Plan"), "enterprise");
    expect(within(choose).getByLabelText("Billed")).toHaveValue("year"); // the only interval Enterprise is priced for
    await userEvent.click(within(choose).getByRole("button", { name: "Review" }));
    expect(within(choose).getByRole("status")).toHaveTextContent("Loading the preview");
    expect(within(choose).queryByRole("button", { name: /Subscribe to/ })).toBeNull();
    const asked = calls.find((r) => r.url.endsWith("/subscriptions/preview"));
    expect(await asked?.json()).toMatchObject({ tier: "enterprise", interval: "year", account_kind: "org" });
  });

  it("offers a viewer of an organization without a subscription no plan to choose", async () => {
    serve({
      ...PLANS_ROUTE,
      [LIST]: { body: { subscriptions: [] } },
      "/api/billing/organizations/org_acme": { body: { id: "org_acme", name: "Acme", role: "viewer" } },
    });
    renderPage(<SubscriptionPage />);
    expect(await screen.findByRole("article", { name: /Free/ })).toHaveTextContent("Your current plan");
    expect(screen.queryByRole("region", { name: "Choose a plan" })).toBeNull();
  });
});
