/** Used against included, warning at 80 % and 100 %; the hard cap named when there is one. */
export function usageLevel(used: number, limit: number): "ok" | "warn" | "over" {
  if (limit <= 0) return used > 0 ? "over" : "ok";
  const share = used / limit;
  if (share >= 1) return "over";
  if (share >= 0.8) return "warn";
  return "ok";
}

export function UsageBar({ label, used, limit }: { label: string; used: number; limit: number }) {
  const level = usageLevel(used, limit);
  const percent = limit > 0 ? Math.round((used / limit) * 100) : 0;
  return (
    <div className={`usage-bar usage-${level}`}>
      <progress aria-label={label} max={100} value={Math.min(percent, 100)} />
      <span className="usage-percent">
        {percent} %{level === "warn" && " — nearing the included amount"}
        {level === "over" && " — over the included amount"}
      </span>
    </div>
  );
}
