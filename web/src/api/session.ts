import { ApiError } from "./client";

/**
 * Who is signed in. The session endpoint belongs to the sign-in work (web-api) and is not in the
 * committed OpenAPI spec yet; this is the one hand-written shape, to be replaced by the generated one.
 */
export interface Session {
  user_id: string;
  /** The organization the session acts in, or null for the person's own account. */
  org_id: string | null;
  /** The billing account the app shows: the organization's id, or the user's. */
  account_id: string;
}

export const SESSION_PATH = "/api/billing/session";

export async function fetchSession(): Promise<Session> {
  const response = await fetch(SESSION_PATH, { credentials: "same-origin" });
  if (!response.ok) {
    throw new ApiError(response.status, `http_${response.status}`, "You are not signed in, or your session has ended.");
  }
  const body = (await response.json()) as Partial<Session> & { org?: string | null };
  const org = body.org_id ?? body.org ?? null;
  return { user_id: body.user_id ?? "", org_id: org, account_id: body.account_id ?? org ?? body.user_id ?? "" };
}
