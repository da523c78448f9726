import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { aiAccessQuery, decideAiAccess, describeRequest, type AccessRequest, type Decision } from "../../api/aiAccess";
import type { Schemas } from "../../api/client";
import { useSession } from "../../app/SessionContext";
import { AiAccessRequests } from "../../sections/ai-access/AiAccessRequests";
import { dateTime } from "../../ui/format";
import { TableWrap } from "../../ui/TableWrap";
import { Empty, QueryView } from "../../ui/states";
import { aiControlsQuery, putOrgAiControls } from "./queries";
import { useNames } from "../../api/plans";

const DONE: Record<Decision, string> = { approve: "Approved", deny: "Denied", revoke: "Revoked" };
const VERB: Record<Decision, string> = { approve: "Approve", deny: "Deny", revoke: "Revoke" };

/**
 * The approval workflow (docs/ai-controls.md): the organization's switch, the pending AI access requests with
 * Approve and Deny (and a note to the member), and the approvals in effect with Revoke. The entitlement answer
 * and the gateways follow a decision within seconds; every step is in the audit log.
 */
export function AiAccessSection({ org, readOnly = false }: { org: string; readOnly?: boolean }) {
  const names = useNames();
  const { user_id } = useSession();
  const client = useQueryClient();
  const requests = useQuery({ ...aiAccessQuery(org), refetchInterval: 15_000 }); // new requests show up by themselves
  const controls = useQuery(aiControlsQuery(org));
  const [notes, setNotes] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<string | null>(null);
  const refresh = () => {
    void client.invalidateQueries({ queryKey: ["ai-access", org] });
    void client.invalidateQueries({ queryKey: ["ai-controls", org] });
    void client.invalidateQueries({ queryKey: ["audit", org] });
  };
  const decide = useMutation({
    mutationFn: ({ r, decision }: { r: AccessRequest; decision: Decision }) =>
      decideAiAccess(org, r.id, decision, notes[r.id] ?? ""),
    onSuccess: (r, { decision }) => {
      setMessage(`${DONE[decision]}: ${describeRequest(r, names)} for ${r.user_id}.`);
      refresh();
    },
    onError: (e) => setMessage(e instanceof Error ? e.message : "The decision was not saved."),
  });
  const toggle = useMutation({
    // The switch changes; the organization's other controls are kept as they are.
    mutationFn: ({ o, required }: { o: Schemas["AiControlsOut"]; required: boolean }) =>
      putOrgAiControls(org, {
        disabled_features: o.disabled_features,
        allowed_providers: o.allowed_providers,
        allowed_models: o.allowed_models,
        monthly_spend_cap: o.monthly_spend_cap,
        monthly_request_cap: o.monthly_request_cap,
        cap_mode: o.cap_mode,
        approval_required: required,
      }),
    onSuccess: (saved) => {
      client.setQueryData(aiControlsQuery(org).queryKey, (old: Schemas["AiControlsList"] | undefined) =>
        old ? { ...old, organization: saved } : old,
      );
      setMessage(saved.approval_required ? "AI use now needs approval." : "AI use no longer needs approval.");
      refresh();
    },
    onError: (e) => setMessage(e instanceof Error ? e.message : "The switch was not saved."),
  });
  if (requests.data?.scope === "self") return <AiAccessRequests org={org} user={user_id} />; // a member: their own
  const row = (r: AccessRequest, actions: Decision[]) => (
    <tr key={r.id}>
      <th scope="row">{r.user_id}</th>
      <td>{describeRequest(r, names)}</td>
      <td>{r.reason ?? "—"}</td>
      <td>{dateTime(r.decided_at ?? r.created_at)}</td>
      <td>
        {r.note && <p>{r.note}</p>}
        {!readOnly && (
        <label>
          <span className="visually-hidden">Note to {r.user_id}</span>
          <input
            value={notes[r.id] ?? ""}
            maxLength={500}
            placeholder="Note (optional)"
            onChange={(e) => setNotes({ ...notes, [r.id]: e.target.value })}
          />
        </label>
        )}
      </td>
      <td>
        {readOnly ? "Owners and admins decide" : actions.map((decision) => (
          <button
            key={decision}
            type="button"
            disabled={decide.isPending}
            aria-label={`${VERB[decision]} ${describeRequest(r, names)} for ${r.user_id}`}
            onClick={() => decide.mutate({ r, decision })}
          >
            {VERB[decision]}
          </button>
        ))}
      </td>
    </tr>
  );
  const head = (
    <thead>
      <tr>
        <th scope="col">Member</th>
        <th scope="col">Asked for</th>
        <th scope="col">Why</th>
        <th scope="col">When</th>
        <th scope="col">Note</th>
        <th scope="col">Decision</th>
      </tr>
    </thead>
  );
  return (
    <section aria-labelledby="ai-access-heading">
      <h2 id="ai-access-heading">AI access approvals</h2>
      {controls.data && (
        <label className="check">
          <input
            type="checkbox"
            checked={toggle.isPending ? toggle.variables.required : controls.data.organization.approval_required}
            disabled={toggle.isPending || readOnly}
            onChange={(e) => toggle.mutate({ o: controls.data.organization, required: e.target.checked })}
          />{" "}
          Members need approval for AI features and models
        </label>
      )}
      {message && (
        <p role="status" aria-live="polite">
          {message}
        </p>
      )}
      <QueryView query={requests} what="the AI access requests">
        {(data) => {
          const pending = data.requests.filter((r) => r.status === "pending");
          const approved = data.requests.filter((r) => r.status === "approved");
          return (
            <>
              <h3>Waiting for a decision</h3>
              {pending.length === 0 ? (
                <Empty>No requests are waiting.</Empty>
              ) : (
                <TableWrap label="Pending AI access requests">
                  {head}
                  <tbody>{pending.map((r) => row(r, ["approve", "deny"]))}</tbody>
                </TableWrap>
              )}
              <h3>Approved</h3>
              {approved.length === 0 ? (
                <Empty>Nothing is approved.</Empty>
              ) : (
                <TableWrap label="Approved AI access">
                  {head}
                  <tbody>{approved.map((r) => row(r, ["revoke"]))}</tbody>
                </TableWrap>
              )}
            </>
          );
        }}
      </QueryView>
    </section>
  );
}
