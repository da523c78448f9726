import { describe, expect, it } from "vitest";
import { dateTime, daysUntil, lineQuantity, money, moneyMinor, timeOfDay, unitPrice } from "./format";
import { usageLevel } from "./UsageBar";

describe("format", () => {
  it("shows an invoice line's quantity as the API words a fraction of a term: four decimals, half to even", () => {
    expect(lineQuantity("0.97311827956989247311827957")).toBe("0.9731"); // "0.9731 of its term left"
    expect(lineQuantity("0.5")).toBe("0.5");
    expect(lineQuantity("0.00005")).toBe("0"); // a tie rounds to even, as Python's quantize does
    expect(lineQuantity("0.00015")).toBe("0.0002");
    expect(lineQuantity("120000")).toBe("120,000");
  });

  it("formats decimal strings and minor units in the account's currency", () => {
    expect(money("1234.50", "usd")).toBe("$1,234.50");
    expect(moneyMinor(123450, "usd")).toBe("$1,234.50");
    expect(moneyMinor(-5, "usd")).toBe("-$0.05");
    expect(moneyMinor(500, "jpy")).toBe("¥500");
    expect(money("10.00", "eur")).toBe("€10.00");
  });

  it("counts whole days left", () => {
    expect(daysUntil("2027-01-01T00:00:00Z", new Date("2026-12-30T12:00:00Z"))).toBe(2);
    expect(daysUntil("2026-01-01T00:00:00Z", new Date("2026-12-30T12:00:00Z"))).toBe(0);
  });

  it("warns at 80 % and 100 %", () => {
    expect(usageLevel(79, 100)).toBe("ok");
    expect(usageLevel(80, 100)).toBe("warn");
    expect(usageLevel(100, 100)).toBe("over");
    expect(usageLevel(1, 0)).toBe("over");
  });
});

describe("unitPrice", () => {
  it("keeps sub-cent digits and the currency's own", () => {
    expect(unitPrice("0.002", "usd")).toBe("$0.002");
    expect(unitPrice("2", "usd")).toBe("$2.00");
  });
});

describe("times", () => {
  it("name their zone, UTC, wherever they are shown (a payment's or an audit entry's time too)", () => {
    expect(dateTime("2026-12-04T19:14:00Z")).toMatch(/^Dec 4, 2026, 7:14\sPM UTC$/);
    expect(dateTime(new Date("2026-12-04T23:30:00-05:00"))).toMatch(/^Dec 5, 2026, 4:30\sAM UTC$/);
    expect(timeOfDay("2026-12-04T14:00:00Z")).toMatch(/^2:00\sPM UTC$/);
  });
});
