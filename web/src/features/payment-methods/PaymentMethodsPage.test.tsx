import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { renderPage, serve } from "../../test/render";
import { PaymentMethodsPage } from "./PaymentMethodsPage";

// jsdom has no network: Stripe.js fails to load exactly as it does on a machine without one.
vi.mock("@stripe/stripe-js", () => ({ loadStripe: () => Promise.reject(new Error("Failed to load Stripe.js")) }));

const LIST = "/api/billing/payment-methods";
const VISA = { id: "pm_visa", type: "card", brand: "visa", last4: "4242", exp_month: 4, exp_year: 2030, is_default: true };
const AMEX = { id: "pm_amex", type: "card", brand: "amex", last4: "0005", exp_month: 12, exp_year: 2031, is_default: false };

afterEach(() => vi.unstubAllGlobals());

describe("PaymentMethodsPage", () => {
  it("says it is loading", () => {
    serve({ [LIST]: "pending" });
    renderPage(<PaymentMethodsPage />);
    expect(screen.getByRole("status")).toHaveTextContent("Loading your payment methods");
  });

  it("says when there is none", async () => {
    serve({ [LIST]: { body: { account_id: "org_acme", payment_methods: [] } } });
    renderPage(<PaymentMethodsPage />);
    expect(await screen.findByText("No payment method on file yet.")).toBeInTheDocument();
  });

  it("shows the API's refusal in words, saying who may see it", async () => {
    serve({ [LIST]: { status: 403, body: { error: { code: "forbidden", message: "viewers may not manage billing" } } } });
    renderPage(<PaymentMethodsPage />);
    // A refusal says so plainly and who may see it, with no "Try again" that cannot help.
    const refusal = await screen.findByText(/Not available to your role/);
    expect(refusal.closest("[role=status]")).toHaveTextContent("viewers may not manage billing");
    expect(refusal.closest("[role=status]")).toHaveTextContent(/for its owners, admins and viewers/);
    expect(screen.queryByRole("button", { name: "Try again" })).toBeNull();
    // Nor a card form the role could not use.
    expect(screen.queryByRole("heading", { name: "Add a card" })).toBeNull();
  });

  it("lists the methods, the default marked, and sets another default or removes one for this account", async () => {
    const calls = serve({
      [LIST]: { body: { account_id: "org_acme", payment_methods: [VISA, AMEX] } },
      "POST /api/billing/payment-methods/pm_amex/default": { body: { ...AMEX, is_default: true } },
      "DELETE /api/billing/payment-methods/pm_visa": { status: 204 },
    });
    renderPage(<PaymentMethodsPage />);
    expect(await screen.findByRole("row", { name: /visa ending 4242/ })).toHaveTextContent("04/2030Default");
    expect(screen.queryByRole("button", { name: "Make default: visa ending 4242" })).toBeNull();
    await userEvent.click(screen.getByRole("button", { name: "Make default: amex ending 0005" }));
    await vi.waitFor(() => expect(calls.some((r) => r.method === "POST" && r.url.endsWith("/pm_amex/default"))).toBe(true));
    const post = calls.find((r) => r.method === "POST");
    expect(await post?.json()).toEqual({ account: "org_acme" });
    await userEvent.click(screen.getByRole("button", { name: "Remove visa ending 4242" }));
    await vi.waitFor(() => expect(calls.some((r) => r.method === "DELETE")).toBe(true));
    expect(new URL(calls.find((r) => r.method === "DELETE")?.url ?? "").searchParams.get("account")).toBe("org_acme");
    expect(screen.queryByRole("alert")).toBeNull();
  });

  it("says plainly that card entry is unavailable when Stripe.js cannot load", async () => {
    const calls = serve({
      [LIST]: { body: { account_id: "org_acme", payment_methods: [] } },
      "POST /api/billing/payment-methods/setup-intent": { status: 201, body: { setup_intent_id: "seti_1", client_secret: "seti_1_secret_x" } },
    });
    renderPage(<PaymentMethodsPage />);
    await userEvent.click(await screen.findByRole("button", { name: "Add a card" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(/Card entry is unavailable: Stripe.js could not be loaded .*Failed to load Stripe.js/);
    expect(await calls.find((r) => r.url.endsWith("/setup-intent"))?.json()).toEqual({ account: "org_acme" });
  });

  it("shows a refused setup intent in words", async () => {
    serve({
      [LIST]: { body: { account_id: "org_acme", payment_methods: [] } },
      "POST /api/billing/payment-methods/setup-intent": { status: 403, body: { error: { code: "forbidden", message: "only billing admins add cards" } } },
    });
    renderPage(<PaymentMethodsPage />);
    await userEvent.click(await screen.findByRole("button", { name: "Add a card" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("only billing admins add cards");
  });
});
