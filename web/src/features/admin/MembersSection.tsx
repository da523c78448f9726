import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { TableWrap } from "../../ui/TableWrap";
import { QueryView } from "../../ui/states";
import { changeRole, membersQuery, rolesQuery, type Role } from "./queries";

const ROLES: Role[] = ["owner", "admin", "member", "viewer"];

/** The organization's people, their roles (changed here by owners and admins), and what each role may do. */
export function MembersSection({ org, readOnly = false }: { org: string; readOnly?: boolean }) {
  const members = useQuery(membersQuery(org));
  const roles = useQuery(rolesQuery());
  const client = useQueryClient();
  const [message, setMessage] = useState<string | null>(null);
  const change = useMutation({
    mutationFn: ({ userId, role }: { userId: string; role: Role }) => changeRole(org, userId, role),
    onSuccess: (m) => {
      setMessage(`${m.user_id} is now ${m.role}.`);
      void client.invalidateQueries({ queryKey: ["members", org] });
      void client.invalidateQueries({ queryKey: ["audit", org] });
      void client.invalidateQueries({ queryKey: ["seats", org] });
      void client.invalidateQueries({ queryKey: ["member-usage", org] });
    },
    onError: (e) => setMessage(e instanceof Error ? e.message : "The role was not changed."),
  });
  return (
    <section aria-labelledby="people-heading">
      <h2 id="people-heading">People</h2>
      <QueryView query={members} what="the members">
        {({ members: list }) => (
          <TableWrap label="Members">
            <thead>
              <tr>
                <th scope="col">Member</th>
                <th scope="col">Role</th>
              </tr>
            </thead>
            <tbody>
              {list.map((m) => (
                <tr key={m.user_id}>
                  <th scope="row">{m.user_id}</th>
                  <td>
                    {readOnly ? (
                      m.role
                    ) : (
                    <label>
                      <span className="visually-hidden">Role of {m.user_id}</span>
                      <select
                        value={m.role}
                        disabled={change.isPending}
                        onChange={(e) => change.mutate({ userId: m.user_id, role: e.target.value as Role })}
                      >
                        {ROLES.map((r) => (
                          <option key={r} value={r}>
                            {r}
                          </option>
                        ))}
                      </select>
                    </label>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </TableWrap>
        )}
      </QueryView>
      <p role="status" aria-live="polite">
        {message}
      </p>
      <QueryView query={roles} what="the roles">
        {({ permissions }) => (
          <details>
            <summary>What each role may do</summary>
            <dl>
              {permissions.map((p) => (
                <div key={p.name}>
                  <dt>{p.roles.join(", ")}</dt>
                  <dd>{p.description}</dd>
                </div>
              ))}
            </dl>
          </details>
        )}
      </QueryView>
    </section>
  );
}
