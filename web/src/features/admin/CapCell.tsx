import { money } from "../../ui/format";
import type { CapStatus } from "./queries";

/** A cap's state in words: reached (and whether further use is refused), past 80 %, or within it. */
export function CapCell({ cap }: { cap: CapStatus | null | undefined }) {
  if (!cap) return <>No cap</>;
  const limits = [cap.spend_cap && money(cap.spend_cap, "usd"), cap.request_cap != null && `${cap.request_cap} requests`]
    .filter(Boolean)
    .join(" / ");
  if (cap.reached.length > 0) {
    return (
      <span className="cap-reached">
        Cap reached ({limits}): {cap.mode === "hard" ? "AI use refused" : "alert only"}
      </span>
    );
  }
  if (cap.alerts.length > 0) return <span className="cap-warn">Past 80 % of {limits}</span>;
  return <>Within {limits} ({cap.mode})</>;
}
