import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { renderPage, serve } from "../../test/render";
import { SubscriptionPage } from "./SubscriptionPage";

const SUB = {
  id: "sub_1", account_id: "org_acme", account_kind: "org", organization_id: "org_acme", tier: "standard", interval: "month",
  status: "active", anchor: "2026-12-01", cancel_at: null, change: null, pending_change: null, grace_until: null, trial_end: null,
  stripe_customer_id: null, stripe_subscription_id: null, created_at: "2026-11-01T00:00:00Z", updated_at: "2026-11-01T00:00:00Z",
  current_period: { key: "2026-12", start: "2026-12-01T00:00:00Z", end: "2027-01-01T00:00:00Z" }, versions: [],
};
const LIST = "/api/billing/organizations/org_acme/subscriptions";

afterEach(() => vi.unstubAllGlobals());

describe("SubscriptionPage", () => {
  it("says it is loading", () => {
    serve({ [LIST]: "pending" });
    renderPage(<SubscriptionPage />);
    expect(screen.getByRole("status")).toHaveTextContent("Loading your subscription");
  });

  it("says when there is no subscription", async () => {
    serve({ [LIST]: { body: { subscriptions: [{ ...SUB, status: "canceled" }] } } });
    renderPage(<SubscriptionPage />);
    expect(await screen.findByText("This account has no subscription.")).toBeInTheDocument();
  });

  it("shows the API's error in words", async () => {
    serve({ [LIST]: { status: 403, body: { error: { code: "forbidden", message: "viewers may not manage billing" } } } });
    renderPage(<SubscriptionPage />);
    expect(await screen.findByRole("alert")).toHaveTextContent("viewers may not manage billing");
  });

  it("previews an upgrade before it is confirmed, then applies it", async () => {
    const calls = serve({ [LIST]: { body: { subscriptions: [SUB] } }, "PUT /api/billing/subscriptions/sub_1": { body: { ...SUB, tier: "enterprise" } } });
    renderPage(<SubscriptionPage />);
    await userEvent.selectOptions(await screen.findByLabelText("Plan"), "enterprise");
    await userEvent.click(screen.getByRole("button", { name: "Review the change" }));
    expect(screen.getByRole("region", { name: "Review the change" })).toHaveTextContent(/Upgrade to enterprise .* now: .* prorated/);
    expect(calls.some((r) => r.method === "PUT")).toBe(false);
    await userEvent.click(screen.getByRole("button", { name: "Confirm the upgrade" }));
    expect(await screen.findByText(/Done: your plan is enterprise/)).toBeInTheDocument();
    const put = calls.find((r) => r.method === "PUT");
    expect(await put?.json()).toEqual({ tier: "enterprise", interval: "month" });
  });

  it("says a downgrade waits for the period end, and shows a refusal in words", async () => {
    serve({
      [LIST]: { body: { subscriptions: [SUB] } },
      "PUT /api/billing/subscriptions/sub_1": { status: 409, body: { error: { code: "change_pending", message: "a change is already scheduled" } } },
    });
    renderPage(<SubscriptionPage />);
    await userEvent.selectOptions(await screen.findByLabelText("Plan"), "free");
    await userEvent.click(screen.getByRole("button", { name: "Review the change" }));
    expect(screen.getByRole("region", { name: "Review the change" })).toHaveTextContent(/Downgrade to free .* on Jan 1, 2027: nothing is charged now/);
    await userEvent.click(screen.getByRole("button", { name: "Confirm the downgrade" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("a change is already scheduled");
  });

  it("refuses changes while past due and explains why", async () => {
    serve({ [LIST]: { body: { subscriptions: [{ ...SUB, status: "past_due" }] } } });
    renderPage(<SubscriptionPage />);
    await userEvent.selectOptions(await screen.findByLabelText("Plan"), "enterprise");
    expect(screen.getByRole("button", { name: "Review the change" })).toBeDisabled();
    expect(screen.getByRole("alert")).toHaveTextContent("past due: pay the open invoice");
  });

  it("cancels at the period end and offers to undo it", async () => {
    const calls = serve({
      [LIST]: { body: { subscriptions: [{ ...SUB, cancel_at: "2027-01-01T00:00:00Z" }] } },
      "POST /api/billing/subscriptions/sub_1/reactivate": { body: SUB },
    });
    renderPage(<SubscriptionPage />);
    expect(await screen.findByText(/cancels on Jan 1, 2027/)).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: /Keep my plan/ }));
    await vi.waitFor(() => expect(calls.some((r) => r.method === "POST" && r.url.endsWith("/reactivate"))).toBe(true));
  });
});
