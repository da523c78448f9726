import { describe, expect, it } from "vitest";
import { auditDiff, shortValue } from "./auditDiff";

describe("auditDiff", () => {
  it("keeps only the fields that changed", () => {
    const before = { disabled_features: [], cap_mode: "alert", monthly_request_cap: null };
    const after = { disabled_features: ["deep_research"], cap_mode: "alert", monthly_request_cap: 10 };
    expect(auditDiff(before, after)).toEqual([
      { field: "disabled_features", before: [], after: ["deep_research"] },
      { field: "monthly_request_cap", before: null, after: 10 },
    ]);
  });

  it("lists a created thing's fields, and a removed one's", () => {
    expect(auditDiff(null, { role: "member", email: null, features: [] })).toEqual([
      { field: "role", before: undefined, after: "member" },
    ]);
    expect(auditDiff({ role: "viewer" }, null)).toEqual([{ field: "role", before: "viewer", after: undefined }]);
  });

  it("compares plain values as one change", () => {
    expect(auditDiff("a", "b")).toEqual([{ field: "", before: "a", after: "b" }]);
    expect(auditDiff(null, null)).toEqual([]);
  });

  it("shows values briefly", () => {
    expect(shortValue(["a", "b"])).toBe("a, b");
    expect(shortValue([])).toBe("none");
    expect(shortValue(null)).toBe("none");
    expect(shortValue(10)).toBe("10");
  });
});
