import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { aiAccessQuery, describeRequest, requestAiAccess, type AccessRequestIn } from "../../api/aiAccess";
import { dateTime } from "../../ui/format";
import { TableWrap } from "../../ui/TableWrap";
import { useNames } from "../../api/plans";

const STATUS_WORDS: Record<string, string> = {
  pending: "Waiting for an admin",
  approved: "Approved",
  denied: "Denied",
  revoked: "Approval withdrawn",
};

/** A choice's value: what the request asks for, as JSON (names may hold any punctuation). */
const choiceOf = (asked: Partial<Pick<AccessRequestIn, "feature" | "provider" | "model">>) => JSON.stringify(asked);

function bodyOf(choice: string, reason: string): AccessRequestIn {
  return { ...(JSON.parse(choice) as AccessRequestIn), reason: reason.trim() || null };
}

/**
 * A member's own AI access (docs/ai-controls.md, "Approval workflow"): when their organization requires approval
 * for AI use, what they may ask for, a "Request access" button, and their requests with each decision and its note.
 * Shown only in a session acting in an organization that requires approval (or where they asked before).
 */
export function AiAccessRequests({ org, user }: { org: string; user: string }) {
  const names = useNames();
  const client = useQueryClient();
  const list = useQuery({ ...aiAccessQuery(org), retry: false, refetchInterval: 15_000 }); // decisions show up by themselves
  const [choice, setChoice] = useState("");
  const [reason, setReason] = useState("");
  const [message, setMessage] = useState<string | null>(null);
  const ask = useMutation({
    mutationFn: (body: AccessRequestIn) => requestAiAccess(org, body),
    onSuccess: (r) => {
      setMessage(`Requested: ${describeRequest(r, names)}. An owner or admin of your organization decides.`);
      setChoice("");
      setReason("");
      void client.invalidateQueries({ queryKey: ["ai-access", org] });
    },
    onError: (e) => setMessage(e instanceof Error ? e.message : "The request was not sent."),
  });
  const data = list.data;
  const mine = (data?.requests ?? []).filter((r) => r.user_id === user);
  if (!data || (!data.approval_required && mine.length === 0)) return null;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (choice) ask.mutate(bodyOf(choice, reason));
  };
  return (
    <section className="card" aria-labelledby="my-ai-access-heading">
      <h2 id="my-ai-access-heading">AI access</h2>
      {data.approval_required && (
        <p className="hint">
          Your organization approves AI use: AI features and models work for you once an owner or admin approves them.
        </p>
      )}
      <form onSubmit={submit}>
        <label>
          Ask for{" "}
          <select value={choice} onChange={(e) => setChoice(e.target.value)} required>
            <option value="">Choose a feature or model</option>
            <optgroup label="Features">
              {data.features.map((f) => (
                <option key={f} value={choiceOf({ feature: f })}>
                  {describeRequest({ feature: f, provider: null, model: null }, names)}
                </option>
              ))}
            </optgroup>
            {data.models.map((p) => (
              <optgroup key={p.provider} label={p.provider}>
                <option value={choiceOf({ provider: p.provider })}>{`any ${p.provider} model`}</option>
                {p.models.map((m) => (
                  <option key={m} value={choiceOf({ provider: p.provider, model: m })}>
                    {`${p.provider}/${m}`}
                  </option>
                ))}
              </optgroup>
            ))}
          </select>
        </label>{" "}
        <label>
          Why (optional){" "}
          <input value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} />
        </label>{" "}
        <button type="submit" disabled={!choice || ask.isPending}>
          Request access
        </button>
      </form>
      {message && (
        <p role="status" aria-live="polite">
          {message}
        </p>
      )}
      {mine.length > 0 && (
        <TableWrap label="Your AI access requests">
          <thead>
            <tr>
              <th scope="col">Asked for</th>
              <th scope="col">Asked</th>
              <th scope="col">Status</th>
              <th scope="col">Note</th>
            </tr>
          </thead>
          <tbody>
            {mine.map((r) => (
              <tr key={r.id}>
                <th scope="row">{describeRequest(r, names)}</th>
                <td>{dateTime(r.created_at)}</td>
                <td>{STATUS_WORDS[r.status] ?? r.status}</td>
                <td>{r.note ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </TableWrap>
      )}
    </section>
  );
}
