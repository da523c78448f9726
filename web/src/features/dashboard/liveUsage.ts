import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback } from "react";
import type { Schemas } from "../../api/client";
import { type LiveMode, useEventStream } from "../../api/liveStream";
import { usageCurrentQuery } from "../../api/usage";

export type { LiveMode };

/** How often the figures are asked for while the live stream is not delivering. */
export const POLL_MS = 10_000;

export const usageStreamUrl = (account: string) => `/api/billing/usage/stream?account=${encodeURIComponent(account)}`;

/**
 * The account's live usage: pushed by the API's server-sent events (`/usage/stream`) while they flow, polled
 * every 10 s whenever the stream fails (api/liveStream.ts). `asOf` is when the figures shown were read: the
 * event's own `as_of`, or the last poll's answer.
 */
export function useLiveUsage(account: string) {
  const client = useQueryClient();
  const onEvent = useCallback(
    (event: Schemas["UsageStreamEvent"]) => client.setQueryData(usageCurrentQuery(account).queryKey, event.usage),
    [account, client],
  );
  const { mode, streamedAt } = useEventStream(usageStreamUrl(account), onEvent);
  const query = useQuery({ ...usageCurrentQuery(account), refetchInterval: mode === "stream" ? false : POLL_MS });
  const asOf = mode === "stream" && streamedAt ? streamedAt : new Date(query.dataUpdatedAt);
  return { query, asOf, mode };
}
