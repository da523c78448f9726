import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback } from "react";
import type { Schemas } from "../../api/client";
import { useEventStream } from "../../api/liveStream";
import { usageCurrentQuery } from "../../api/usage";
import { memberUsageQuery } from "./queries";

/** How often the figures are asked for while the live stream is not delivering. */
export const POLL_MS = 5_000;

export const orgUsageStreamUrl = (org: string) => `/api/billing/organizations/${encodeURIComponent(org)}/usage/stream`;

/**
 * The organization's live usage for the admin panel: pushed by the API's server-sent events
 * (`/organizations/{id}/usage/stream`: the per-member breakdown and the usage per metric against the pooled
 * quotas) while they flow, polled every 5 s whenever the stream fails (api/liveStream.ts). The stream is opened
 * once the first answer shows the caller reads the whole organization (a member sees only their own row, polled).
 * `asOf` is when the figures shown were read.
 */
export function useLiveOrgUsage(org: string) {
  const client = useQueryClient();
  const onEvent = useCallback(
    (event: Schemas["OrgUsageStreamEvent"]) => {
      client.setQueryData(memberUsageQuery(org).queryKey, event.members);
      client.setQueryData(usageCurrentQuery(org).queryKey, event.usage);
    },
    [org, client],
  );
  // Read on each render (the query below re-renders this on every answer), before that query is declared.
  const scope = client.getQueryData<Schemas["OrgUsageLive"]>(memberUsageQuery(org).queryKey)?.scope;
  const { mode, streamedAt } = useEventStream(scope === "organization" ? orgUsageStreamUrl(org) : null, onEvent);
  const query = useQuery({ ...memberUsageQuery(org), refetchInterval: mode === "stream" ? false : POLL_MS });
  const asOf = mode === "stream" && streamedAt ? streamedAt : query.data ? new Date(query.data.as_of) : null;
  return { query, asOf, mode };
}
