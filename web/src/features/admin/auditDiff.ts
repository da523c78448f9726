/** One changed field of an audit entry: its value before and after (undefined: absent on that side). */
export type FieldChange = { field: string; before: unknown; after: unknown };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isBlank(v: unknown): boolean {
  return v === null || v === undefined || (Array.isArray(v) && v.length === 0);
}

/** The fields an audit entry changed, instead of both documents whole: a created thing lists its fields
 * set (before undefined), a removed one its fields (after undefined); unchanged fields are left out. */
export function auditDiff(before: unknown, after: unknown): FieldChange[] {
  if (!isRecord(before) && !isRecord(after)) {
    return JSON.stringify(before) === JSON.stringify(after) ? [] : [{ field: "", before: before ?? undefined, after: after ?? undefined }];
  }
  const b = isRecord(before) ? before : {};
  const a = isRecord(after) ? after : {};
  const fields = [...new Set([...Object.keys(b), ...Object.keys(a)])].sort();
  const created = !isRecord(before);
  return fields
    .filter((f) => JSON.stringify(b[f]) !== JSON.stringify(a[f]))
    .filter((f) => !(created && isBlank(a[f]))) // a new thing's empty fields say nothing
    .map((f) => ({ field: f, before: b[f], after: a[f] }));
}

/** A value as short text: lists joined, null as "none". */
export function shortValue(v: unknown): string {
  if (v === null) return "none";
  if (Array.isArray(v)) return v.length ? v.map(shortValue).join(", ") : "none";
  if (isRecord(v)) return JSON.stringify(v);
  return String(v);
}
