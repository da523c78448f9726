import { describe, expect, it } from "vitest";
import { featureName, metricName } from "./names";

describe("names", () => {
  it("names metrics as people read them, a premium feature's own metric by the feature", () => {
    expect(metricName("api_calls")).toBe("API calls");
    expect(metricName("storage_gb")).toBe("Storage (GB)");
    expect(metricName("premium_feature:deep_research")).toBe("Deep research");
    expect(metricName("gpu_seconds")).toBe("Gpu seconds"); // a metric without its own words: a sentence, not an id
  });

  it("names features, AI ones with AI in capitals", () => {
    expect(featureName("ai_twin")).toBe("AI twin");
    expect(featureName("predictive_intelligence")).toBe("Predictive intelligence");
    expect(featureName("voice_synthesis")).toBe("Voice synthesis");
  });
});
