import { describe, expect, it } from "vitest";
import { bandPoints, overBudget } from "./band";

const metric = { metric: "api_calls", to_date: "30", expected: "100", p10: "80", p90: "120", daily: ["10", "10", "10"] };

describe("bandPoints", () => {
  it("runs the settled total, then a dashed path and band to the period-end figures", () => {
    const points = bandPoints(metric, 10);
    expect(points).toHaveLength(10);
    expect(points.slice(0, 3).map((p) => p.actual)).toEqual([10, 20, 30]);
    expect(points[2]).toMatchObject({ expected: 30, band: [30, 30] });
    expect(points[9]).toEqual({ day: 10, actual: null, expected: 100, band: [80, 120] });
    expect(points[5]?.expected).toBeCloseTo(60);
  });

  it("has no path when the period is over", () => {
    expect(bandPoints({ ...metric, daily: ["10", "10"] }, 2).every((p) => p.expected === null)).toBe(true);
  });
});

describe("overBudget", () => {
  it("compares decimal strings exactly", () => {
    expect(overBudget("300.01", "300")).toBe(true);
    expect(overBudget("300.00", "300.00")).toBe(false);
    expect(overBudget("299.5", "300")).toBe(false);
    expect(overBudget("1000", null)).toBe(false);
  });
});
