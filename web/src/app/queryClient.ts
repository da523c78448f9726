import { QueryClient } from "@tanstack/react-query";
import { ApiError } from "../api/client";

/** Retries only what may pass on a retry (network, 5xx, 429); a 4xx answer is final and shown in words. */
export function makeQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 15_000,
        retry: (count, error) => count < 2 && !(error instanceof ApiError && error.status < 500 && error.status !== 429),
      },
      mutations: { retry: false },
    },
  });
}
