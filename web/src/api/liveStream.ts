import { useEffect, useState } from "react";

/** How the live figures on a page arrive: pushed by the API's server-sent events, or polled meanwhile. */
export type LiveMode = "stream" | "polling";

/**
 * Follows the API's server-sent events at `url` (event `usage`), calling `onEvent` with each event's data and
 * reporting `stream` while they flow and `polling` whenever the stream fails — a dropped connection, a refused
 * one (then EventSource gives up), or the API's own `error` event (access ended): the caller polls meanwhile,
 * so the figures and any refusal still show. EventSource retries by itself; the next event switches back.
 * `streamedAt` is the last event's `as_of`. `url` null: no stream (polling alone).
 */
export function useEventStream<T extends { as_of: string }>(url: string | null, onEvent: (data: T) => void) {
  const [mode, setMode] = useState<LiveMode>("polling");
  const [streamedAt, setStreamedAt] = useState<Date | null>(null);

  useEffect(() => {
    if (url === null || typeof EventSource === "undefined") return; // no EventSource: polling alone
    const source = new EventSource(url);
    source.addEventListener("usage", (e) => {
      const data = JSON.parse((e as MessageEvent<string>).data) as T;
      onEvent(data);
      setStreamedAt(new Date(data.as_of));
      setMode("stream");
    });
    source.addEventListener("error", () => setMode("polling"));
    return () => source.close();
  }, [url, onEvent]);

  return { mode, streamedAt };
}
