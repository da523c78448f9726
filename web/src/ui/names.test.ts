import { describe, expect, it } from "vitest";
import { namesFrom } from "./names";

const BOOK = { metric_names: { api_calls: "API calls", storage_gb: "Storage (GB)" }, feature_names: { deep_research: "Deep research" } };

describe("names", () => {
  it("reads ids by the catalog's words, a premium feature's own metric by the feature", () => {
    const names = namesFrom(BOOK);
    expect(names.metric("api_calls")).toBe("API calls");
    expect(names.metric("storage_gb")).toBe("Storage (GB)");
    expect(names.metric("premium_feature:deep_research")).toBe("Deep research");
    expect(names.feature("deep_research")).toBe("Deep research");
  });

  it("reads an id the catalog does not name (or before it loads) as a sentence, never as the id", () => {
    const names = namesFrom(undefined);
    expect(names.metric("api_calls")).toBe("API calls");
    expect(names.metric("gpu_seconds")).toBe("Gpu seconds");
    expect(names.feature("ai_twin")).toBe("AI twin");
    expect(names.feature("multi_user_ai")).toBe("Multi user AI");
  });
});
