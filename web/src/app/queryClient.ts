import { MutationCache, QueryCache, QueryClient } from "@tanstack/react-query";
import { ApiError } from "../api/client";

/** The query the shell reads who is signed in from (Shell.tsx). */
export const SESSION_KEY = ["session"] as const;

const isSignedOut = (error: unknown) => error instanceof ApiError && error.status === 401;

/** Retries only what may pass on a retry (network, 5xx, 429); a 4xx answer is final and shown in words.
 * A 401 from any call means the session ended (expired, or signed out elsewhere): the shell asks again who is
 * signed in, and so shows the sign-in page instead of leaving each card to fail with a useless "Try again". */
export function makeQueryClient(): QueryClient {
  const client: QueryClient = new QueryClient({
    queryCache: new QueryCache({
      onError: (error, query) => {
        if (isSignedOut(error) && query.queryKey[0] !== SESSION_KEY[0]) void client.invalidateQueries({ queryKey: SESSION_KEY });
      },
    }),
    mutationCache: new MutationCache({
      onError: (error) => {
        if (isSignedOut(error)) void client.invalidateQueries({ queryKey: SESSION_KEY });
      },
    }),
    defaultOptions: {
      queries: {
        staleTime: 15_000,
        retry: (count, error) => count < 2 && !(error instanceof ApiError && error.status < 500 && error.status !== 429),
      },
      mutations: { retry: false },
    },
  });
  return client;
}
