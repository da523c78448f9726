import type { ReactNode } from "react";
import { ApiError } from "../api/client";

export function Loading({ what }: { what: string }) {
  return (
    <p role="status" aria-live="polite" className="state">
      Loading {what}…
    </p>
  );
}

/** A 403: the caller's role may not see this. Said plainly, with no "Try again" (asking again cannot help). */
export function NotForRole({ message, children }: { message: string; children?: ReactNode }) {
  return (
    <div role="status" className="state state-forbidden">
      <p>
        <strong>Not available to your role:</strong> <span>{message}</span>
      </p>
      <p>{children ?? "Ask an owner or admin of the organization if you need it."}</p>
    </div>
  );
}

/** What a member is told about the organization's billing pages: who may see them. */
export const READERS = "The organization's plan, invoices and payment methods are for its owners, admins and viewers; ask an owner or admin if you need them.";

/** A 403: the caller's role may not make this call. */
export const isRefusal = (error: unknown): error is ApiError => error instanceof ApiError && error.status === 403;

export function ErrorState({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const message = error instanceof Error ? error.message : "Something went wrong.";
  return (
    <div role="alert" className="state state-error">
      <p>{message}</p>
      {onRetry && (
        <button type="button" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="state state-empty">{children}</p>;
}

/** One place for the loading / error / ready switch of a TanStack query. A read the role may not make (403) is
 * `NotForRole`, `forbidden` saying who may see it; a refused action stays an error (ErrorState) where it was made. */
export function QueryView<T>({
  query,
  what,
  forbidden,
  children,
}: {
  query: { isPending: boolean; isError: boolean; error: unknown; data: T | undefined; refetch: () => unknown };
  what: string;
  forbidden?: ReactNode;
  children: (data: T) => ReactNode;
}) {
  if (query.isPending) return <Loading what={what} />;
  if (isRefusal(query.error)) return <NotForRole message={query.error.message}>{forbidden}</NotForRole>;
  if (query.isError || query.data === undefined) return <ErrorState error={query.error} onRetry={() => void query.refetch()} />;
  return <>{children(query.data)}</>;
}
