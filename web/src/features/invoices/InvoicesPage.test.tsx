import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { renderPage, serve } from "../../test/render";
import { InvoiceDetailPage } from "./InvoiceDetailPage";
import { InvoicesPage } from "./InvoicesPage";

const SUMMARY = {
  invoice_id: "inv_1", number: "ML-2026-0001", account_id: "org_acme", currency: "eur", status: "open", overdue: true,
  period: "2026-11", period_start: "2026-11-01", period_end: "2026-12-01", due_date: "2026-12-15", total: "53.00",
  amount_due: 5300, amount_paid: 0, amount_remaining: 5300, finalized_at: "2026-12-01T01:00:00Z", issued_at: "2026-12-01T01:00:00Z", tier: "standard",
};
const DOC = {
  ...SUMMARY, subtotal: "49.00",
  lines: [
    { code: "base_fee", description: "Standard plan", quantity: "1", unit_price: "49.00", amount: "49.00" },
    { code: "api_calls_overage", description: "API calls over the included", quantity: "4000", unit_price: "0.001", amount: "4.00" },
  ],
};

afterEach(() => vi.unstubAllGlobals());

describe("InvoicesPage", () => {
  it("says it is loading", () => {
    serve({ "/api/billing/invoices": "pending" });
    renderPage(<InvoicesPage />);
    expect(screen.getByRole("status")).toHaveTextContent("Loading your invoices");
  });

  it("says when there are none", async () => {
    serve({ "/api/billing/invoices": { body: { invoices: [] } } });
    renderPage(<InvoicesPage />);
    expect(await screen.findByText(/No invoices yet/)).toBeInTheDocument();
  });

  it("shows the API's error in words", async () => {
    serve({ "/api/billing/invoices": { status: 404, body: { error: { code: "not_found", message: "no such account" } } } });
    renderPage(<InvoicesPage />);
    expect(await screen.findByRole("alert")).toHaveTextContent("no such account");
  });

  it("tells a member plainly that the organization's invoices are not for their role, with no dead retry", async () => {
    serve({ "/api/billing/invoices": { status: 403, body: { error: { code: "forbidden", message: "the role member may not do this" } } } });
    renderPage(<InvoicesPage />);
    const refusal = (await screen.findByText(/Not available to your role/)).closest("[role=status]");
    expect(refusal).toHaveTextContent("the role member may not do this");
    expect(refusal).toHaveTextContent(/invoices .* are for its owners, admins and viewers/);
    expect(screen.queryByRole("alert")).toBeNull();
    expect(screen.queryByRole("button", { name: "Try again" })).toBeNull();
  });

  it("lists invoices with status, total in the account's currency, and a PDF link", async () => {
    serve({ "/api/billing/invoices": { body: { invoices: [SUMMARY] } } });
    renderPage(<InvoicesPage />);
    const row = await screen.findByRole("row", { name: /ML-2026-0001/ });
    expect(within(row).getByText("Overdue")).toBeInTheDocument();
    expect(within(row).getByText("€53.00")).toBeInTheDocument();
    expect(within(row).getByRole("link", { name: /Download PDF/ })).toHaveAttribute("href", "/api/billing/invoices/inv_1.pdf");
  });
});

describe("InvoiceDetailPage", () => {
  const at = { path: "/invoices/inv_1", route: "/invoices/:invoiceId" };

  it("shows every line, the payments, and pays an open invoice", async () => {
    const calls = serve({
      "/api/billing/invoices/inv_1": { body: DOC },
      "/api/billing/invoices/inv_1/payments": { body: { payments: [] } },
      "POST /api/billing/invoices/inv_1/pay": { body: { invoice_id: "inv_1", account_id: "org_acme", stripe_invoice_id: "in_1", status: "paid", amount_paid: 5300, currency: "eur", paid_at: "2026-12-04T10:00:00Z", paid_by: "u_alice" } },
    });
    document.cookie = "meterline_csrf=tok123";
    renderPage(<InvoiceDetailPage />, at);
    expect(await screen.findByRole("heading", { name: "Invoice ML-2026-0001" })).toBeInTheDocument();
    expect(screen.getByRole("row", { name: /API calls over the included/ })).toHaveTextContent("€4.00");
    expect(await screen.findByText(/No payment attempts/)).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: /Pay now/ }));
    expect(await screen.findByText("Paid €53.00.")).toBeInTheDocument();
    const pay = calls.find((r) => r.method === "POST");
    expect(pay?.headers.get("X-CSRF-Token")).toBe("tok123");
  });

  it("shows a refused payment in the API's words", async () => {
    serve({
      "/api/billing/invoices/inv_1": { body: DOC },
      "/api/billing/invoices/inv_1/payments": { body: { payments: [] } },
      "POST /api/billing/invoices/inv_1/pay": { status: 402, body: { error: { code: "card_declined", message: "Your card was declined." } } },
    });
    renderPage(<InvoiceDetailPage />, at);
    await userEvent.click(await screen.findByRole("button", { name: /Pay now/ }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Your card was declined.");
  });

  it("says when the invoice is not visible", async () => {
    serve({ "/api/billing/invoices/inv_1": { status: 404, body: { error: { code: "not_found", message: "invoice not found" } } } });
    renderPage(<InvoiceDetailPage />, at);
    expect(await screen.findByRole("alert")).toHaveTextContent("invoice not found");
  });
});
