import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { dateTime } from "../../ui/format";
import { TableWrap } from "../../ui/TableWrap";
import { Empty, QueryView } from "../../ui/states";
import { auditCsvHref, auditQuery } from "./queries";

const FILTERS = [
  { value: "", label: "All changes" },
  { value: "member.", label: "People" },
  { value: "api_key.", label: "API keys" },
  { value: "subscription.", label: "Subscriptions" },
  { value: "ai_controls.", label: "AI controls" },
  { value: "invoice.", label: "Invoices" },
];

function change(before: unknown, after: unknown): string {
  const show = (v: unknown) => (v == null ? "—" : JSON.stringify(v));
  return `${show(before)} → ${show(after)}`;
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
            <TableWrap label="Audit log entries">
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
                    <td>{dateTime(e.at)}</td>
                    <td>{e.actor}</td>
                    <th scope="row">{e.action}</th>
                    <td>{e.target ?? "—"}</td>
                    <td>
                      <code>{change(e.before, e.after)}</code>
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
