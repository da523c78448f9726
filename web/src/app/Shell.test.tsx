import { screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { renderPage, serve } from "../test/render";
import { Shell } from "./Shell";

afterEach(() => vi.unstubAllGlobals());

describe("Shell", () => {
  it("asks to sign in by link when there is no session", async () => {
    serve({ "/api/billing/session": { status: 401, body: { error: { code: "unauthorized", message: "no session" } } } });
    renderPage(<Shell />);
    expect(await screen.findByRole("heading", { name: "Sign in to Meterline billing" })).toBeInTheDocument();
    expect(screen.getByText(/meterline api login-link/)).toBeInTheDocument();
  });

  it("shows other failures in words with a retry", async () => {
    serve({ "/api/billing/session": { status: 503, body: { error: { code: "unavailable", message: "store down" } } } });
    renderPage(<Shell />);
    expect(await screen.findByRole("alert")).toHaveTextContent("store down");
  });

  it("names the organization the session acts in, with the navigation", async () => {
    serve({ "/api/billing/session": { body: { user_id: "u_alice", organization_id: "org_acme", account_id: "org_acme", csrf_token: "t", expires_at: "2026-12-05T00:00:00Z" } } });
    renderPage(<Shell />);
    expect(await screen.findByLabelText("Billing account")).toHaveTextContent("org_acme");
    expect(screen.getByRole("navigation", { name: "Billing" })).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Skip to content" })).toHaveAttribute("href", "#main");
  });

  it("acts in the person's own account without an organization", async () => {
    serve({ "/api/billing/session": { body: { user_id: "u_bob", organization_id: null, account_id: "u_bob", csrf_token: "t", expires_at: "2026-12-05T00:00:00Z" } } });
    renderPage(<Shell />);
    expect(await screen.findByLabelText("Billing account")).toHaveTextContent("u_bob");
  });
});
