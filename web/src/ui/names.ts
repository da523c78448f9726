// Metric and feature names as people read them: the one home of these words (ids stay ids in URLs, CSV columns
// and API fields). Tier names are the catalog's own (`useTierName` in api/plans.ts).

const METRICS: Record<string, string> = {
  api_calls: "API calls",
  storage_gb: "Storage (GB)",
  ai_requests: "AI requests",
  ai_tokens: "AI tokens",
  premium_feature: "Premium feature uses",
  active_user: "Active users",
};

const FEATURES: Record<string, string> = {
  ai_twin: "AI twin",
  ai_search: "AI search",
  multi_user_ai: "Multi-user AI",
  usage_analytics: "Usage analytics",
};

/** `deep_research` -> "Deep research": the fallback for an id without its own words above. */
function sentence(id: string): string {
  const words = id.replace(/[_-]+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const PER_FEATURE = "premium_feature:";

/** A metric's name: "API calls" for `api_calls`; a premium feature's own metric (`premium_feature:deep_research`,
 * as forecasts name it) by the feature's name. */
export function metricName(metric: string): string {
  if (metric.startsWith(PER_FEATURE)) return featureName(metric.slice(PER_FEATURE.length));
  return METRICS[metric] ?? sentence(metric);
}

/** A feature's name, a tier's feature or a premium feature used per use: "AI twin" for `ai_twin`. */
export function featureName(feature: string): string {
  return FEATURES[feature] ?? sentence(feature);
}
