import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useSession } from "../../app/SessionContext";
import { dateTime } from "../../ui/format";
import { Empty, QueryView } from "../../ui/states";
import "./admin.css";
import { answerInvitation, myInvitationsQuery, rolesQuery } from "./queries";

/** Who invited, in words: a person's id, or the organization's API key. */
function inviter(by: string): string {
  if (by.startsWith("user:")) return by.slice("user:".length);
  if (by.startsWith("key:")) return "An API key of the organization";
  return "The platform's operators";
}

/** The invited person's own page (/app/invitations): the invitations addressed to them, each accepted or
 * declined by them alone — nobody becomes a member without saying yes here (or with their own token). */
export function InvitationsInboxPage() {
  const { organization_id } = useSession();
  const invitations = useQuery({ ...myInvitationsQuery(), enabled: organization_id === null });
  const roles = useQuery(rolesQuery());
  const client = useQueryClient();
  const [message, setMessage] = useState<string | null>(null);
  const answer = useMutation({
    mutationFn: ({ id, what }: { id: string; what: "accept" | "decline" }) => answerInvitation(id, what),
    onSuccess: (inv, { what }) => {
      setMessage(
        what === "accept"
          ? `You joined ${inv.organization_name} as ${inv.role}. Open it from your platform to act in it.`
          : `You declined the invitation to ${inv.organization_name}.`,
      );
      void client.invalidateQueries({ queryKey: ["my-invitations"] });
    },
    onError: (e) => setMessage(e instanceof Error ? e.message : "That did not work."),
  });
  const may = (role: string) =>
    (roles.data?.permissions ?? []).filter((p) => (p.roles as string[]).includes(role)).map((p) => p.description);
  return (
    <>
      <h1>Your invitations</h1>
      <p role="status" aria-live="polite">
        {message}
      </p>
      {organization_id !== null ? (
        <Empty>
          Invitations are answered in your own account, not while you act in an organization: sign in to your own
          account to see them.
        </Empty>
      ) : (
        <QueryView query={invitations} what="your invitations">
          {({ invitations: list }) => {
            const open = list.filter((i) => i.status === "pending");
            const closed = list.filter((i) => i.status !== "pending");
            return (
              <>
                {open.length === 0 ? (
                  <Empty>No invitations are waiting for you.</Empty>
                ) : (
                  <ul className="cards invitations">
                    {open.map((i) => (
                      <li key={i.id} className="card">
                        <h2>{i.organization_name}</h2>
                        <p>
                          {inviter(i.invited_by)} invites you as <b>{i.role}</b>, until {dateTime(i.expires_at)}.
                        </p>
                        {may(i.role).length > 0 && (
                          <details>
                            <summary>What a {i.role} may do</summary>
                            <ul>
                              {may(i.role).map((d) => (
                                <li key={d}>{d}</li>
                              ))}
                            </ul>
                          </details>
                        )}
                        <p>
                        <button
                          type="button"
                          className="primary"
                          disabled={answer.isPending}
                          onClick={() => answer.mutate({ id: i.id, what: "accept" })}
                        >
                          Accept<span className="visually-hidden"> the invitation to {i.organization_name}</span>
                        </button>{" "}
                        <button
                          type="button"
                          disabled={answer.isPending}
                          onClick={() => answer.mutate({ id: i.id, what: "decline" })}
                        >
                          Decline<span className="visually-hidden"> the invitation to {i.organization_name}</span>
                        </button>
                        </p>
                      </li>
                    ))}
                  </ul>
                )}
                {closed.length > 0 && (
                  <>
                    <h2>Answered and closed</h2>
                    <ul>
                      {closed.map((i) => (
                        <li key={i.id}>
                          {i.organization_name} ({i.role}): {i.status}
                          {i.responded_at ? `, ${dateTime(i.responded_at)}` : ""}
                        </li>
                      ))}
                    </ul>
                  </>
                )}
              </>
            );
          }}
        </QueryView>
      )}
    </>
  );
}
