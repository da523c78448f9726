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

/** Ends the session (the API clears both cookies); the CSRF header goes along as on every write. */
export async function signOut(csrf: string | null): Promise<void> {
  await fetch(`${SESSION_PATH}/logout`, {
    method: "POST",
    credentials: "same-origin",
    headers: csrf ? { "X-CSRF-Token": csrf } : {},
  });
}

export async function fetchSession(): Promise<Session> {
  const response = await fetch(SESSION_PATH, { credentials: "same-origin" });
  if (response.status === 401) {
    throw new ApiError(401, "unauthorized", "You are not signed in, or your session has ended.");
  }
  if (!response.ok) {
    const body = (await response.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
    throw new ApiError(
      response.status,
      body?.error?.code ?? `http_${response.status}`,
      body?.error?.message ?? `The billing API answered ${response.status}.`,
    );
  }
  // The API names the organization `organization_id` (web-api's SessionOut); null for the person's own account.
  const body = (await response.json()) as Partial<Session> & { organization_id?: string | null };
  const org = body.organization_id ?? body.org_id ?? null;
  return { user_id: body.user_id ?? "", org_id: org, account_id: body.account_id ?? org ?? body.user_id ?? "" };
}
