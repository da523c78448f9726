import type { Forecast } from "./queries";

/** One day of the forecast chart: the period's running total, settled so far (`actual`), then the expected
 * path and its 80 % band (`low`–`high`) to the period end. Numbers are for drawing only. */
export type BandPoint = { day: number; actual: number | null; expected: number | null; band: [number, number] | null };

/** The cumulative settled days, then a straight path from the last settled total to the period-end
 * expected value and p10–p90 (the forecast gives the end, not each day: the path between is drawn
 * straight, and the band opens from nothing known to the interval at the end). */
export function bandPoints(metric: Forecast["metrics"][number], daysInPeriod: number): BandPoint[] {
  const points: BandPoint[] = [];
  let total = 0;
  metric.daily.forEach((q, i) => {
    total += Number(q);
    points.push({ day: i + 1, actual: total, expected: null, band: null });
  });
  const start = points.length;
  const base = total;
  const ends = { expected: Number(metric.expected), low: Number(metric.p10), high: Number(metric.p90) };
  const remaining = daysInPeriod - start;
  if (remaining <= 0) return points;
  // The dashed path starts where the settled line ends, so the two read as one line.
  const last = points[start - 1];
  if (last !== undefined) points[start - 1] = { ...last, expected: base, band: [base, base] };
  for (let d = start + 1; d <= daysInPeriod; d++) {
    const f = (d - start) / remaining;
    points.push({
      day: d,
      actual: null,
      expected: base + (ends.expected - base) * f,
      band: [base + (ends.low - base) * f, base + (ends.high - base) * f],
    });
  }
  return points;
}

/** Whether the expected total passes a budget (decimal strings compared as cents, no float sums). */
export function overBudget(expected: string, budget: string | null): boolean {
  if (budget === null) return false;
  return cents(expected) > cents(budget);
}

function cents(amount: string): bigint {
  const negative = amount.startsWith("-");
  const [whole, frac = ""] = amount.replace("-", "").split(".");
  const value = BigInt(whole || "0") * 100n + BigInt((frac + "00").slice(0, 2));
  return negative ? -value : value;
}
