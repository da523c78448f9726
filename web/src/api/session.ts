import { api, unwrap, type Schemas } from "./client";

/** Who is signed in: the user, the organization acted in (null: the person's own account), the account shown. */
export type Session = Pick<Schemas["SessionOut"], "user_id" | "organization_id" | "account_id">;

/** The cookie session's identity; a 401 (no session, or ended) is an ApiError the shell turns into sign-in. */
export async function fetchSession(): Promise<Session> {
  return unwrap(await api.GET("/api/billing/session"));
}

/** Ends the session (the API clears both cookies); the CSRF header goes along as on every write. */
export async function signOut(): Promise<void> {
  await api.POST("/api/billing/session/logout");
}
