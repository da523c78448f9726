import { useQuery } from "@tanstack/react-query";
import { NavLink, Outlet } from "react-router-dom";
import { ApiError } from "../api/client";
import { fetchSession, signOut } from "../api/session";
import { BrandMark } from "../features/admin/BrandMark";
import { ErrorState, Loading } from "../ui/states";
import { SESSION_KEY } from "./queryClient";
import { SessionContext } from "./SessionContext";
import { SignedOut } from "./SignedOut";

const NAV = [
  { to: "/", label: "Dashboard", end: true },
  { to: "/invoices", label: "Invoices", end: false },
  { to: "/plans", label: "Plan", end: false },
  { to: "/payment-methods", label: "Payment methods", end: false },
];

/** An organization's session has its admin panel; a person's own session (not acting in an organization) has no
 * panel to offer (it only said so) but answers the invitations addressed to them. */
const ORGANIZATION_NAV = [...NAV, { to: "/admin", label: "Admin", end: false }];
const PERSONAL_NAV = [...NAV, { to: "/invitations", label: "Invitations", end: false }];

/** The signed-in frame: skip link, navigation, and the session every page reads. */
export function Shell() {
  const session = useQuery({ queryKey: SESSION_KEY, queryFn: fetchSession, retry: false });
  if (session.isPending) return <Loading what="your session" />;
  if (session.isError) {
    if (session.error instanceof ApiError && session.error.status === 401) return <SignedOut />;
    return <ErrorState error={session.error} onRetry={() => void session.refetch()} />;
  }
  return (
    <SessionContext.Provider value={session.data}>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="app-header">
        <BrandMark org={session.data.organization_id} />
        <span className="account" aria-label="Billing account">
          {session.data.account_id}
        </span>
        <nav aria-label="Billing">
          <ul>
            {(session.data.organization_id === null ? PERSONAL_NAV : ORGANIZATION_NAV).map((item) => (
              <li key={item.to}>
                <NavLink to={item.to} end={item.end}>
                  {item.label}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <button
          type="button"
          className="sign-out"
          onClick={() => void signOut().then(() => session.refetch())}
        >
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <Outlet />
      </main>
    </SessionContext.Provider>
  );
}
