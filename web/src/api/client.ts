import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];

/** An API failure in words: the API's own message when it sent one (its `{"error": {code, message}}`). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

const CSRF_COOKIE = "meterline_csrf";
const CSRF_HEADER = "X-CSRF-Token";

/** The double-submit CSRF token the API set as a readable cookie next to the HttpOnly session. */
export function csrfToken(cookies: string = document.cookie): string | null {
  for (const part of cookies.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === CSRF_COOKIE) return decodeURIComponent(rest.join("="));
  }
  return null;
}

const csrf: Middleware = {
  onRequest({ request }) {
    if (request.method !== "GET" && request.method !== "HEAD") {
      const token = csrfToken();
      if (token) request.headers.set(CSRF_HEADER, token);
    }
    return request;
  },
};

/** The one typed client of the billing API; the session cookie goes along on the same origin. */
export const api = createClient<paths>({
  baseUrl: globalThis.location?.origin ?? "",
  credentials: "same-origin",
  // Looked up per call (not captured once) so component tests can stand a fake fetch in for the network.
  fetch: (request) => globalThis.fetch(request),
});
api.use(csrf);

function describe(error: unknown, response: Response): ApiError {
  const body = error as Partial<Schemas["Error"]> | undefined;
  const message = body?.error?.message;
  const code = body?.error?.code ?? `http_${response.status}`;
  if (message) return new ApiError(response.status, code, message);
  if (response.status === 401) return new ApiError(401, code, "You are not signed in, or your session has ended.");
  if (response.status === 403) return new ApiError(403, code, "Your role may not see or do this.");
  if (response.status === 404) return new ApiError(404, code, "Not found, or not visible to you.");
  return new ApiError(response.status, code, `The billing API answered ${response.status}.`);
}

/** The data of an openapi-fetch result, or an ApiError carrying the API's message. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || result.data === undefined) {
    throw describe(result.error, result.response);
  }
  return result.data;
}

/** For answers without a body (204): nothing, or an ApiError carrying the API's message. */
export function unwrapEmpty(result: { error?: unknown; response: Response }): void {
  if (result.error !== undefined || !result.response.ok) throw describe(result.error, result.response);
}
