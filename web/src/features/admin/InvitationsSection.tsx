import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { dateTime } from "../../ui/format";
import { TableWrap } from "../../ui/TableWrap";
import { Empty, QueryView } from "../../ui/states";
import { invitationsQuery, invite, resendInvitation, revokeInvitation, type Role } from "./queries";

const ROLES: Role[] = ["member", "viewer", "admin", "owner"];

/** Invite a platform user (they accept with their own sign-in: nobody joins without consent), and the
 * invitations still open, to resend (a new expiry) or revoke: owners' and admins' (the API refuses a viewer both). */
export function InvitationsSection({ org, readOnly = false }: { org: string; readOnly?: boolean }) {
  if (readOnly)
    return (
      <section aria-labelledby="invite-heading">
        <h2 id="invite-heading">Invitations</h2>
        <p>Owners and admins invite people and see the invitations still open.</p>
      </section>
    );
  return <Invitations org={org} />;
}

function Invitations({ org }: { org: string }) {
  const invitations = useQuery(invitationsQuery(org));
  const client = useQueryClient();
  const [userId, setUserId] = useState("");
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("member");
  const [message, setMessage] = useState<string | null>(null);
  const refresh = () => {
    void client.invalidateQueries({ queryKey: ["invitations", org] });
    void client.invalidateQueries({ queryKey: ["audit", org] });
  };
  const onError = (e: unknown) => setMessage(e instanceof Error ? e.message : "That did not work.");
  const create = useMutation({
    mutationFn: () => invite(org, { user_id: userId.trim(), email: email.trim() || null, role }),
    onSuccess: (inv) => {
      // The API checks no id (it keeps no list of users, and tells no other organization's id apart).
      setMessage(
        `Invited ${inv.user_id} as ${inv.role}: they join once they accept (ids are not checked: if it was mistyped, revoke it).`,
      );
      setUserId("");
      setEmail("");
      refresh();
    },
    onError,
  });
  const act = useMutation({
    mutationFn: ({ id, what }: { id: string; what: "resend" | "revoke" }) =>
      what === "resend" ? resendInvitation(org, id) : revokeInvitation(org, id),
    onSuccess: (inv, { what }) => {
      setMessage(what === "resend" ? `Sent again to ${inv.user_id}.` : `Revoked the invitation of ${inv.user_id}.`);
      refresh();
    },
    onError,
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (userId.trim()) create.mutate();
  };
  return (
    <section aria-labelledby="invite-heading">
      <h2 id="invite-heading">Invitations</h2>
      <form onSubmit={submit}>
        <label>
          Platform user id <input value={userId} onChange={(e) => setUserId(e.target.value)} required />
        </label>{" "}
        <label>
          Email (optional) <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>{" "}
        <label>
          Invite as{" "}
          <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>{" "}
        <button type="submit" disabled={create.isPending}>
          Invite
        </button>
      </form>
      <p role="status" aria-live="polite">
        {message}
      </p>
      <QueryView query={invitations} what="the invitations">
        {({ invitations: list }) => {
          const open = list.filter((i) => i.status === "pending" || i.status === "expired");
          return open.length === 0 ? (
            <Empty>No open invitations.</Empty>
          ) : (
            <TableWrap label="Open invitations">
              <thead>
                <tr>
                  <th scope="col">Invited</th>
                  <th scope="col">Role</th>
                  <th scope="col">Status</th>
                  <th scope="col">Expires</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {open.map((i) => (
                  <tr key={i.id}>
                    <th scope="row">{i.user_id}</th>
                    <td>{i.role}</td>
                    <td>{i.status}</td>
                    <td>{dateTime(i.expires_at)}</td>
                    <td>
                      <button type="button" onClick={() => act.mutate({ id: i.id, what: "resend" })}>
                        Resend<span className="visually-hidden"> to {i.user_id}</span>
                      </button>{" "}
                      <button type="button" onClick={() => act.mutate({ id: i.id, what: "revoke" })}>
                        Revoke<span className="visually-hidden"> the invitation of {i.user_id}</span>
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </TableWrap>
          );
        }}
      </QueryView>
    </section>
  );
}
