import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type { ReactElement } from "react";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { vi } from "vitest";
import type { Session } from "../api/session";
import { SessionContext } from "../app/SessionContext";

export const SESSION: Session = { user_id: "u_alice", organization_id: "org_acme", account_id: "org_acme" };

type Reply = { status?: number; body?: unknown } | "pending";

/** A fake network: each request path (no query) answers from the table; unknown paths answer 404. */
export function serve(table: Record<string, Reply>) {
  const calls: Request[] = [];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(new URL(String(input), window.location.href), init);
    calls.push(request);
    const path = new URL(request.url).pathname;
    const reply = table[`${request.method} ${path}`] ?? table[path];
    if (reply === "pending") return new Promise<Response>(() => undefined);
    const status = reply?.status ?? (reply ? 200 : 404);
    const body = reply?.body ?? { error: { code: "not_found", message: `no such thing: ${path}` } };
    if (status === 204) return new Response(null, { status });
    return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  });
  vi.stubGlobal("fetch", fetchMock);
  return calls;
}

export function renderPage(page: ReactElement, { path = "/", route = "/", session = SESSION }: { path?: string; route?: string; session?: Session } = {}) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <SessionContext.Provider value={session}>
        <MemoryRouter initialEntries={[path]}>
          <Routes>
            <Route path={route} element={page} />
          </Routes>
        </MemoryRouter>
      </SessionContext.Provider>
    </QueryClientProvider>,
  );
}
