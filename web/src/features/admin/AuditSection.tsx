import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { dateTime } from "../../ui/format";
import { TableWrap } from "../../ui/TableWrap";
import { Empty, QueryView } from "../../ui/states";
import { auditDiff, shortValue } from "./auditDiff";
import { auditCsvHref, auditQuery } from "./queries";

const FILTERS = [
  { value: "", label: "All changes" },
  { value: "member.", label: "People" },
  { value: "api_key.", label: "API keys" },
  { value: "subscription.", label: "Subscriptions" },
  { value: "ai_controls.", label: "AI controls" },
  { value: "invoice.", label: "Invoices" },
];

/** The fields an entry changed, one a line: "field: before → after" (a created thing's fields without "before"). */
function Change({ before, after }: { before: unknown; after: unknown }) {
  const changes = auditDiff(before, after);
  if (changes.length === 0) return <>—</>;
  return (
    <ul className="diff">
      {changes.map((c) => (
        <li key={c.field}>
          {c.field && <span className="diff-field">{c.field}: </span>}
          {c.before !== undefined && (
            <del>
              <span className="visually-hidden">was </span>
              {shortValue(c.before)}
            </del>
          )}
          {c.before !== undefined && c.after !== undefined && " → "}
          {c.after !== undefined ? (
            <ins>
              <span className="visually-hidden">now </span>
              {shortValue(c.after)}
            </ins>
          ) : (
            " (removed)"
          )}
        </li>
      ))}
    </ul>
  );
}

/** Who changed what, when and from where: the organization's audit log, newest first, and its CSV export. */
export function AuditSection({ org }: { org: string }) {
  const [action, setAction] = useState("");
  const log = useQuery(auditQuery(org, action));
  return (
    <section aria-labelledby="audit-heading">
      <h2 id="audit-heading">Audit log</h2>
      <label>
        Show{" "}
        <select value={action} onChange={(e) => setAction(e.target.value)}>
          {FILTERS.map((f) => (
            <option key={f.value} value={f.value}>
              {f.label}
            </option>
          ))}
        </select>
      </label>{" "}
      <a href={auditCsvHref(org, action)} download>
        Export CSV
      </a>
      <QueryView query={log} what="the audit log">
        {({ entries }) =>
          entries.length === 0 ? (
            <Empty>No changes recorded yet.</Empty>
          ) : (
            <TableWrap label="Audit log entries" className="audit-log">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Who</th>
                  <th scope="col">What</th>
                  <th scope="col">Target</th>
                  <th scope="col">Change</th>
                  <th scope="col">From</th>
                </tr>
              </thead>
              <tbody>
                {entries.map((e) => (
                  <tr key={e.id}>
                    <td className="nowrap">{dateTime(e.at)}</td>
                    <td>{e.actor}</td>
                    <th scope="row">{e.action}</th>
                    <td>{e.target ?? "—"}</td>
                    <td className="change">
                      <Change before={e.before} after={e.after} />
                    </td>
                    <td>{e.ip ?? "—"}</td>
                  </tr>
                ))}
              </tbody>
            </TableWrap>
          )
        }
      </QueryView>
    </section>
  );
}
