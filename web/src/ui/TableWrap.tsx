import type { ReactNode } from "react";

/** A table that may scroll sideways on a phone; focusable and named so it scrolls by keyboard too (axe). */
export function TableWrap({ label, className, children }: { label: string; className?: string; children: ReactNode }) {
  return (
    <div className={className ? `table-wrap ${className}` : "table-wrap"} role="region" aria-label={label} tabIndex={0}>
      <table>{children}</table>
    </div>
  );
}
