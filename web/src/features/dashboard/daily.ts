import type { Schemas } from "../../api/client";

export interface DailyPoint {
  day: number;
  current: number | null;
  previous: number | null;
  /** Today's live figure, not settled yet (provisional): period-to-date live use less what is settled. */
  provisional: number | null;
}

const DAY = 86_400_000;

/** The start of the period before `start`, as long as the period [start, end). */
export function previousPeriodStart(start: string, end: string): string {
  const s = new Date(start).getTime();
  const e = new Date(end).getTime();
  return new Date(s - (e - s)).toISOString();
}

/**
 * One point per day of the period: this period's settled quantity beside the previous period's same day.
 * Quantities become numbers here only to be drawn; nothing is summed for money.
 */
export function dailySeries(rows: Schemas["UsageRow"][], metric: string, start: string, end: string): DailyPoint[] {
  const s = new Date(start).getTime();
  const e = new Date(end).getTime();
  const days = Math.max(1, Math.round((e - s) / DAY));
  const prevStart = s - (e - s);
  const points: DailyPoint[] = Array.from({ length: days }, (_, i) => ({
    day: i + 1,
    current: null,
    previous: null,
    provisional: null,
  }));
  for (const row of rows) {
    if (row.metric !== metric) continue;
    const t = new Date(row.start).getTime();
    const value = Number(row.quantity);
    if (t >= s && t < e) {
      const p = points[Math.floor((t - s) / DAY)];
      if (p) p.current = (p.current ?? 0) + value;
    } else if (t >= prevStart && t < s) {
      const p = points[Math.floor((t - prevStart) / DAY)];
      if (p) p.previous = (p.previous ?? 0) + value;
    }
  }
  return points;
}

/**
 * Adds the live, not yet settled part of the period (`liveUsed`, the quota state's period-to-date figure) on
 * `now`'s day, apart from the settled bars. Counting metrics only: a gauge (storage) is not a sum of days.
 */
export function withLiveToday(points: DailyPoint[], liveUsed: string, start: string, now: Date): DailyPoint[] {
  const settled = points.reduce((sum, p) => sum + (p.current ?? 0), 0);
  const unsettled = Number(liveUsed) - settled;
  const index = Math.floor((now.getTime() - new Date(start).getTime()) / DAY);
  if (unsettled <= 0 || index < 0 || index >= points.length) return points;
  return points.map((p, i) => (i === index ? { ...p, provisional: unsettled } : p));
}
