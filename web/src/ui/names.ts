// Metric and feature names as people read them. The words are the catalog's (`metric_names`, `feature_names` of
// GET /api/billing/plans: `useNames` in api/plans.ts); this is how an id is read from them, and the fallback
// while the catalog loads or for an id it does not name. Ids stay ids in URLs, option values, API fields, CSV.

export type NameBook = { metric_names: Record<string, string>; feature_names: Record<string, string> };

export type Names = { metric: (id: string) => string; feature: (id: string) => string };

const PER_FEATURE = "premium_feature:";

/** `deep_research` -> "Deep research", `ai_twin` -> "AI twin": an id the catalog does not name, as a sentence. */
function sentence(id: string): string {
  const words = id.split(/[_-]+/).filter(Boolean).map((w) => (/^(ai|api|gb)$/.test(w) ? w.toUpperCase() : w));
  const text = words.join(" ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The names in `book` (none while it loads): a premium feature's own metric (`premium_feature:deep_research`, as
 * forecasts name it) is read by the feature's name. */
export function namesFrom(book: NameBook | undefined): Names {
  const feature = (id: string) => book?.feature_names[id] ?? sentence(id);
  const metric = (id: string) =>
    id.startsWith(PER_FEATURE) ? feature(id.slice(PER_FEATURE.length)) : (book?.metric_names[id] ?? sentence(id));
  return { metric, feature };
}
