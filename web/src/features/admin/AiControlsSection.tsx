import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { QueryView } from "../../ui/states";
import { aiControlsQuery, membersQuery, putMemberAiControls, type AiControlsIn } from "./queries";
import { useNames } from "../../api/plans";

type Caps = { spend: string; requests: string; mode: "hard" | "alert" };

/** A member's AI features: each feature the tier allows can be switched off for them (enforced by the
 * entitlement answer at once; docs/ai-controls.md), and their monthly AI cap (hard: refused once reached). */
export function AiControlsSection({ org, readOnly = false }: { org: string; readOnly?: boolean }) {
  const names = useNames();
  const controls = useQuery(aiControlsQuery(org));
  const members = useQuery(membersQuery(org));
  const client = useQueryClient();
  const [member, setMember] = useState("");
  const [off, setOff] = useState<Set<string> | null>(null);
  const [caps, setCaps] = useState<Caps | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const save = useMutation({
    mutationFn: ({ userId, body }: { userId: string; body: AiControlsIn }) => putMemberAiControls(org, userId, body),
    onSuccess: (saved) => {
      const capText = [saved.monthly_spend_cap && `$${saved.monthly_spend_cap}`, saved.monthly_request_cap != null && `${saved.monthly_request_cap} requests`].filter(Boolean).join(" / ");
      setMessage(
        `Saved: ${saved.disabled_features.length ? saved.disabled_features.map(names.feature).join(", ") : "nothing"} off for ${saved.user_id ?? "everyone"}; ` +
          (capText ? `monthly AI cap ${capText} (${saved.cap_mode}).` : "no monthly AI cap."),
      );
      setOff(null);
      setCaps(null);
      void client.invalidateQueries({ queryKey: ["ai-controls", org] });
      void client.invalidateQueries({ queryKey: ["audit", org] });
    },
    onError: (e) => setMessage(e instanceof Error ? e.message : "The controls were not saved."),
  });
  return (
    <section aria-labelledby="ai-heading">
      <h2 id="ai-heading">AI controls</h2>
      <QueryView query={controls} what="the AI controls">
        {(data) => {
          const current = data.members.find((m) => m.user_id === member);
          const disabled = off ?? new Set(current?.disabled_features ?? []);
          const cap: Caps = caps ?? {
            spend: current?.monthly_spend_cap ?? "",
            requests: current?.monthly_request_cap != null ? String(current.monthly_request_cap) : "",
            mode: current?.cap_mode ?? "alert",
          };
          const submit = (e: FormEvent) => {
            e.preventDefault();
            if (!member) return;
            // The features and the caps change here: the member's other controls are kept as they are.
            const keep: AiControlsIn = {
              allowed_providers: current?.allowed_providers ?? null,
              allowed_models: current?.allowed_models ?? null,
              monthly_spend_cap: cap.spend.trim() || null,
              monthly_request_cap: cap.requests.trim() ? Number(cap.requests) : null,
              cap_mode: cap.mode,
              approval_required: current?.approval_required ?? false,
            };
            save.mutate({ userId: member, body: { ...keep, disabled_features: [...disabled].sort() } });
          };
          return (
            <form onSubmit={submit}>
              <label>
                Member{" "}
                <select
                  value={member}
                  onChange={(e) => {
                    setMember(e.target.value);
                    setOff(null);
                    setCaps(null);
                  }}
                >
                  <option value="">Choose a member</option>
                  {(members.data?.members ?? []).map((m) => (
                    <option key={m.user_id} value={m.user_id}>
                      {m.user_id}
                    </option>
                  ))}
                </select>
              </label>
              <fieldset disabled={!member || readOnly}>
                <legend>Features switched off for this member</legend>
                {data.tier_features.map((f) => (
                  <label key={f} className="check">
                    <input
                      type="checkbox"
                      checked={disabled.has(f)}
                      onChange={(e) => {
                        const next = new Set(disabled);
                        if (e.target.checked) next.add(f);
                        else next.delete(f);
                        setOff(next);
                      }}
                    />{" "}
                    {names.feature(f)}
                  </label>
                ))}
              </fieldset>
              <fieldset disabled={!member || readOnly}>
                <legend>This member's monthly AI cap</legend>
                <label>
                  Spend cap (USD){" "}
                  <input
                    inputMode="decimal"
                    pattern="[0-9]+(\.[0-9]{1,2})?"
                    value={cap.spend}
                    onChange={(e) => setCaps({ ...cap, spend: e.target.value })}
                  />
                </label>{" "}
                <label>
                  Request cap{" "}
                  <input
                    type="number"
                    min={0}
                    step={1}
                    value={cap.requests}
                    onChange={(e) => setCaps({ ...cap, requests: e.target.value })}
                  />
                </label>{" "}
                <label>
                  When reached{" "}
                  <select value={cap.mode} onChange={(e) => setCaps({ ...cap, mode: e.target.value as Caps["mode"] })}>
                    <option value="hard">refuse further AI use</option>
                    <option value="alert">alert only</option>
                  </select>
                </label>
              </fieldset>
              {!readOnly && (
                <button type="submit" disabled={!member || save.isPending}>
                  Save AI controls
                </button>
              )}
              <p role="status" aria-live="polite">
                {message}
              </p>
            </form>
          );
        }}
      </QueryView>
    </section>
  );
}
