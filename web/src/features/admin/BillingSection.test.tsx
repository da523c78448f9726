import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { renderPage, serve } from "../../test/render";
import { BillingSection, inEffect } from "./BillingSection";

const ORG = "/api/billing/organizations/org_acme";
const SUB = "/api/billing/subscriptions/sub_1";
const ORGANIZATION = {
  id: "org_acme", name: "Acme", created_at: "2026-01-01T00:00:00Z", updated_at: "2026-01-01T00:00:00Z", role: "admin",
  billing_email: "ap@acme.test", tax_id: "DE123456789",
  billing_address: { line1: "1 Main St", line2: null, city: "Berlin", postal_code: "10115", region: null, country: "DE" },
};
const SUBSCRIPTION = {
  id: "sub_1", status: "active", tier: "enterprise", interval: "month",
  current_period: { key: "2026-12", start: "2026-12-01T00:00:00Z", end: "2027-01-01T00:00:00Z" },
};
const CONTRACT = {
  account_id: "org_acme", subscription_id: "sub_1", effective_from: "2026-01-01T00:00:00Z", term_ends_on: "2027-12-31",
  pending_contract: null, pending_effective_from: null,
  contract: {
    base_fee: { month: "900.00" }, platform_fee: null, seat_mode: "graduated", seat_basis: "provisioned", minimum_seats: 10,
    seats: { mode: "graduated", tiers: [{ up_to: "50", unit_amount: "40.00", flat_amount: "0" }, { up_to: null, unit_amount: "30.00", flat_amount: "0" }] },
    commitment: { amount: "12000.00", per: "contract_year" }, payment_terms: { collection: "send_invoice", days_until_due: 30 },
    term: { starts_on: "2026-01-01", ends_on: "2026-12-31", renewal: "auto_renew", renewal_months: 12 },
    metrics: { ai_requests: { included: "100000", unit_price: "0.002", hard_cap: null } }, addons: {}, currency: "usd",
  },
};
const ADDON = {
  id: "ad_1", account_id: "org_acme", subscription_id: "sub_1", name: "white_label", kind: "recurring", quantity: "1",
  unit_price: "99.00", starts_at: "2026-11-01T00:00:00Z", ends_at: null, created_at: "2026-11-01T00:00:00Z", created_by: "op", note: null, hours: [],
};
const GRANT = {
  id: "cg_1", account_id: "org_acme", subscription_id: "sub_1", name: "Launch credit", amount: "500.00", remaining: "320.00",
  currency: "usd", priority: 0, effective_at: "2026-11-01T00:00:00Z", expires_at: null, created_at: "2026-11-01T00:00:00Z", created_by: "op",
};
const invoice = (n: string, status: string, remaining: number, overdue = false) => ({
  invoice_id: `inv_${n}`, number: `ML-${n}`, account_id: "org_acme", currency: "usd", period: `2026-${n}`, tier: "enterprise",
  period_start: `2026-${n}-01T00:00:00Z`, period_end: `2026-${n}-28T00:00:00Z`, finalized_at: `2026-${n}-28T00:00:00Z`,
  total: (remaining / 100 || 100).toFixed(2), status, amount_due: remaining, amount_paid: 0, amount_remaining: remaining,
  due_date: `2026-${n}-28`, overdue,
});
const UPCOMING = {
  account_id: "org_acme", currency: "usd", period_start: "2026-12-01T00:00:00Z", period_end: "2027-01-01T00:00:00Z",
  status: "draft", subtotal: "940.00", total: "940.00", lines: [{ code: "base", description: "Base fee", quantity: "1", unit_price: "900.00", amount: "900.00" }],
};

function api(extra: Record<string, { status?: number; body?: unknown } | "pending"> = {}) {
  return serve({
    [ORG]: { body: ORGANIZATION },
    "/api/billing/subscriptions": { body: { subscriptions: [SUBSCRIPTION] } },
    [`${SUB}/contract`]: { body: CONTRACT },
    [`${SUB}/addons`]: { body: { data: [ADDON] } },
    [`${SUB}/credit-grants`]: { body: { balance: "320.00", data: [GRANT] } },
    "/api/billing/invoices": { body: { invoices: [invoice("10", "paid", 0), invoice("11", "open", 15050, true)] } },
    "/api/billing/invoices/upcoming": { body: UPCOMING },
    "/api/billing/payments": {
      body: { payments: [{ id: "pay_1", account_id: "org_acme", invoice_id: "inv_10", amount: 10000, currency: "usd", at: "2026-10-29T00:00:00Z", method: "card", source: "api", status: "succeeded" }] },
    },
    "/api/billing/payment-methods": { body: { payment_methods: [{ id: "pm_1", type: "card", brand: "visa", last4: "4242", exp_month: 4, exp_year: 2030, is_default: true }] } },
    ...extra,
  });
}

afterEach(() => vi.unstubAllGlobals());

describe("BillingSection", () => {
  it("shows the contract, add-ons, credits, invoices, payments, balances and the upcoming invoice", async () => {
    api();
    renderPage(<BillingSection org="org_acme" />);
    // Outstanding: the open invoice's remaining 150.50, summed in cents.
    expect(await screen.findByText(/\$150\.50 \(overdue\)/)).toBeInTheDocument();
    const invoices = screen.getByRole("region", { name: "Invoices" });
    expect(within(invoices).getByRole("row", { name: /ML-11/ })).toHaveTextContent("Overdue");
    expect(within(invoices).getByRole("link", { name: "ML-10" })).toHaveAttribute("href", "/invoices/inv_10");
    expect(await screen.findByText("$12,000.00 per contract year")).toBeInTheDocument();
    expect(screen.getByText("the most members at once")).toBeInTheDocument();
    expect(screen.getByText("renews for 12 months at a time")).toBeInTheDocument();
    expect(screen.getByRole("region", { name: "Contract seat prices" })).toHaveTextContent("and above");
    expect(await screen.findByRole("row", { name: /white_label/ })).toHaveTextContent("$99.00");
    expect(screen.getByText("Credit balance: $320.00")).toBeInTheDocument();
    expect(screen.getByRole("region", { name: "Payments" })).toHaveTextContent("$100.00");
    expect(screen.getByRole("region", { name: "Upcoming invoice" })).toHaveTextContent("Base fee");
    expect(screen.getByText(/visa ending 4242, expires 04\/2030/)).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Manage payment methods" })).toHaveAttribute("href", "/payment-methods");
  });

  it("lets an admin save the billing details through the API", async () => {
    const calls = api({ [`PATCH ${ORG}`]: { body: { ...ORGANIZATION, tax_id: "DE999" } } });
    renderPage(<BillingSection org="org_acme" />);
    const tax = await screen.findByLabelText("Tax id");
    await userEvent.clear(tax);
    await userEvent.type(tax, "DE999");
    await userEvent.click(screen.getByRole("button", { name: "Save billing details" }));
    expect(await screen.findByText("Billing details saved.")).toBeInTheDocument();
    const patch = calls.find((c) => c.method === "PATCH");
    expect(await patch?.json()).toMatchObject({ tax_id: "DE999", billing_email: "ap@acme.test", billing_address: { city: "Berlin", country: "DE" } });
  });

  it("shows a viewer the invoices and billing details, but no form and no contract", async () => {
    const calls = api({ [ORG]: { body: { ...ORGANIZATION, role: "viewer" } } });
    renderPage(<BillingSection org="org_acme" />);
    expect(await screen.findByText("DE123456789")).toBeInTheDocument();
    expect(await screen.findByRole("link", { name: "ML-11" })).toBeInTheDocument();
    expect(await screen.findByText("The contract, add-ons and credits are shown to owners and admins.")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Save billing details" })).not.toBeInTheDocument();
    expect(calls.some((c) => c.url.includes("/contract"))).toBe(false);
  });

  it("shows a member no billing and asks the API for none", async () => {
    const calls = api({ [ORG]: { body: { ...ORGANIZATION, role: "member" } } });
    renderPage(<BillingSection org="org_acme" />);
    expect(await screen.findByText(/Billing is shown to owners, admins and viewers/)).toBeInTheDocument();
    expect(screen.queryByText("DE123456789")).not.toBeInTheDocument();
    expect(calls.map((c) => new URL(c.url).pathname)).toEqual([ORG]);
  });

  it("says when there is no contract, no invoices, no add-ons and no payments", async () => {
    api({
      [`${SUB}/contract`]: { body: { ...CONTRACT, contract: null, term_ends_on: null } },
      [`${SUB}/addons`]: { body: { data: [] } },
      [`${SUB}/credit-grants`]: { body: { balance: "0", data: [] } },
      "/api/billing/invoices": { body: { invoices: [] } },
      "/api/billing/payments": { body: { payments: [] } },
      "/api/billing/invoices/upcoming": { body: { ...UPCOMING, lines: [] } },
    });
    renderPage(<BillingSection org="org_acme" />);
    expect(await screen.findByText("No invoices yet.")).toBeInTheDocument();
    expect(await screen.findByText(/No enterprise contract/)).toBeInTheDocument();
    expect(screen.getByText("No add-ons.")).toBeInTheDocument();
    expect(screen.getByText("No payments yet.")).toBeInTheDocument();
    expect(screen.getByText("Nothing on this period's invoice yet.")).toBeInTheDocument();
  });

  it("says loading, and shows the API's refusal in words", async () => {
    api({ [ORG]: "pending" });
    renderPage(<BillingSection org="org_acme" />);
    expect(screen.getByText("Loading the organization…")).toBeInTheDocument();
    vi.unstubAllGlobals();
    const refusal = { status: 403, body: { error: { code: "forbidden", message: "members may not read the organization's billing" } } };
    api({ "/api/billing/invoices": refusal, [`${SUB}/contract`]: refusal });
    renderPage(<BillingSection org="org_acme" />);
    expect((await screen.findAllByText("members may not read the organization's billing")).length).toBeGreaterThan(0);
  });
});

describe("inEffect", () => {
  const period = SUBSCRIPTION.current_period;
  const addon = (kind: "one_time" | "recurring", starts_at: string, ends_at: string | null) =>
    ({ ...ADDON, kind, starts_at, ends_at }) as Parameters<typeof inEffect>[0];
  it("keeps a one-time add-on to its period and a recurring one while it overlaps", () => {
    expect(inEffect(addon("one_time", "2026-12-03T00:00:00Z", null), period)).toBe(true);
    expect(inEffect(addon("one_time", "2026-11-03T00:00:00Z", null), period)).toBe(false);
    expect(inEffect(addon("recurring", "2026-11-01T00:00:00Z", null), period)).toBe(true);
    expect(inEffect(addon("recurring", "2026-10-01T00:00:00Z", "2026-11-15T00:00:00Z"), period)).toBe(false);
    expect(inEffect(addon("recurring", "2027-01-01T00:00:00Z", null), period)).toBe(false);
  });
});
