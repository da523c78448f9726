import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import type { Schemas } from "../../api/client";
import { usageCurrentQuery } from "../../api/usage";

/** How often the figures are asked for while the live stream is not delivering. */
export const POLL_MS = 10_000;

export type LiveMode = "stream" | "polling";

export const usageStreamUrl = (account: string) => `/api/billing/usage/stream?account=${encodeURIComponent(account)}`;

/**
 * The account's live usage: pushed by the API's server-sent events (`/usage/stream`) while they flow, polled
 * every 10 s whenever the stream fails (EventSource retries it by itself; the next event switches back).
 * `asOf` is when the figures shown were read: the event's own `as_of`, or the last poll's answer.
 */
export function useLiveUsage(account: string) {
  const client = useQueryClient();
  const [mode, setMode] = useState<LiveMode>("polling");
  const [streamedAt, setStreamedAt] = useState<Date | null>(null);
  const query = useQuery({ ...usageCurrentQuery(account), refetchInterval: mode === "stream" ? false : POLL_MS });

  useEffect(() => {
    if (typeof EventSource === "undefined") return; // no EventSource: polling alone
    const source = new EventSource(usageStreamUrl(account));
    const key = usageCurrentQuery(account).queryKey;
    source.addEventListener("usage", (e) => {
      const event = JSON.parse((e as MessageEvent<string>).data) as Schemas["UsageStreamEvent"];
      client.setQueryData(key, event.usage);
      setStreamedAt(new Date(event.as_of));
      setMode("stream");
    });
    // A dropped connection, a refused one (then EventSource gives up), or the API's own `error` event
    // (access ended): poll meanwhile, so the figures and any refusal still show.
    source.addEventListener("error", () => setMode("polling"));
    return () => source.close();
  }, [account, client]);

  const asOf = mode === "stream" && streamedAt ? streamedAt : new Date(query.dataUpdatedAt);
  return { query, asOf, mode };
}
