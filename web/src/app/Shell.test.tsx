import { QueryClientProvider, useQuery } from "@tanstack/react-query";
import { render, screen, within } from "@testing-library/react";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { afterEach, describe, expect, it, vi } from "vitest";
import { usageCurrentQuery } from "../api/usage";
import { renderPage, serve } from "../test/render";
import { QueryView } from "../ui/states";
import { NotFound } from "./NotFound";
import { makeQueryClient } from "./queryClient";
import { Shell } from "./Shell";

const SIGNED_IN = { user_id: "u_alice", organization_id: "org_acme", account_id: "org_acme", csrf_token: "t", expires_at: "2026-12-05T00:00:00Z" };
const EXPIRED = { error: { code: "session_expired", message: "the session has expired: sign in again" } };
const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

/** A page reading the account's usage, inside the shell, with the app's own query client. */
function Usage() {
  const usage = useQuery(usageCurrentQuery("org_acme"));
  return <QueryView query={usage} what="your usage">{() => <p>usage</p>}</QueryView>;
}

afterEach(() => vi.unstubAllGlobals());

describe("Shell", () => {
  it("asks to sign in by link when there is no session", async () => {
    serve({ "/api/billing/session": { status: 401, body: { error: { code: "unauthorized", message: "no session" } } } });
    renderPage(<Shell />);
    expect(await screen.findByRole("heading", { name: "Sign in to Meterline billing" })).toBeInTheDocument();
    expect(screen.getByText(/meterline api login-link/)).toBeInTheDocument();
    // A customer is told their own way back first: the platform's billing link.
    expect(screen.getByText("To sign in, open the “Billing” link of your platform again.")).toBeInTheDocument();
  });

  it("says an unknown address is not a page, with the way back to the dashboard", async () => {
    serve({ "/api/billing/session": { body: SIGNED_IN } });
    render(
      <QueryClientProvider client={makeQueryClient()}>
        <MemoryRouter initialEntries={["/no-such-page"]}>
          <Routes>
            <Route path="/" element={<Shell />}>
              <Route path="*" element={<NotFound />} />
            </Route>
          </Routes>
        </MemoryRouter>
      </QueryClientProvider>,
    );
    expect(await screen.findByRole("heading", { name: "Page not found" })).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Go to the dashboard" })).toHaveAttribute("href", "/");
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
    // No admin panel to offer a person's own account (it would only say so); their invitations instead.
    const nav = screen.getByRole("navigation", { name: "Billing" });
    expect(within(nav).queryByRole("link", { name: "Admin" })).toBeNull();
    expect(within(nav).getByRole("link", { name: "Invitations" })).toBeInTheDocument();
  });

  it("shows the sign-in page, not a card's dead \"Try again\", once a call finds the session ended", async () => {
    let sessionAsked = 0;
    // The session is valid when the app starts, then expires: the page's next call and the session answer 401.
    vi.stubGlobal(
      "fetch",
      vi.fn(async (request: Request) => {
        if (new URL(request.url).pathname === "/api/billing/session") return (sessionAsked += 1) === 1 ? json(200, SIGNED_IN) : json(401, EXPIRED);
        return json(401, EXPIRED);
      }),
    );
    render(
      <QueryClientProvider client={makeQueryClient()}>
        <MemoryRouter>
          <Routes>
            <Route path="/" element={<Shell />}>
              <Route index element={<Usage />} />
            </Route>
          </Routes>
        </MemoryRouter>
      </QueryClientProvider>,
    );
    expect(await screen.findByRole("heading", { name: "Sign in to Meterline billing" })).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Try again" })).toBeNull();
    expect(sessionAsked).toBeGreaterThan(1); // asked again after the page's 401
  });
});
