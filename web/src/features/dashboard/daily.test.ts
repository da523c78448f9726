import { describe, expect, it } from "vitest";
import { dailySeries, previousPeriodStart, withLiveToday } from "./daily";

const START = "2026-12-01T00:00:00Z";
const END = "2026-12-04T00:00:00Z";
const row = (start: string, quantity: string, metric = "api_calls") => ({ start, end: start, metric, quantity, events: 1, user_id: null });

describe("daily usage", () => {
  it("puts this period's and the previous period's days side by side", () => {
    expect(previousPeriodStart(START, END)).toBe("2026-11-28T00:00:00.000Z");
    const points = dailySeries(
      [row("2026-12-01T00:00:00Z", "10"), row("2026-12-02T00:00:00Z", "5"), row("2026-11-28T00:00:00Z", "7"), row("2026-12-01T00:00:00Z", "99", "ai_requests")],
      "api_calls",
      START,
      END,
    );
    expect(points.map((p) => [p.day, p.current, p.previous])).toEqual([[1, 10, 7], [2, 5, null], [3, null, null]]);
  });

  it("adds today's live figure beyond the settled days as provisional", () => {
    const settled = dailySeries([row("2026-12-01T00:00:00Z", "10")], "api_calls", START, END);
    const points = withLiveToday(settled, "25", START, new Date("2026-12-02T15:00:00Z"));
    expect(points.map((p) => p.provisional)).toEqual([null, 15, null]);
    expect(withLiveToday(settled, "10", START, new Date("2026-12-02T15:00:00Z"))).toBe(settled);
  });
});
