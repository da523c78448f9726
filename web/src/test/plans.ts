// Test fixtures: API answers shaped as the generated schema says.
import type { Schemas } from "../api/client";

const METRIC = { aggregation: "sum", entitled: true, fair_use_alert: null, per_feature: {} };
export const PLANS = {
  catalog_version: "v1",
  currency: "usd",
  metric_names: { api_calls: "API calls", storage_gb: "Storage (GB)", ai_requests: "AI requests", premium_feature: "Premium feature uses", active_user: "Active users" },
  feature_names: { deep_research: "Deep research", ai_twin: "AI twin" },
  plans: [
    {
      tier: "free", display_name: "Free", monthly_price: "0", annual_price: null, annual_saving: null, collection: "none",
      days_until_due: null, features: [], is_default: true, rate_limit_per_minute: 60, seats: null,
      metrics: [{ ...METRIC, metric: "api_calls", included: "1000", overage_unit_price: null, hard_cap: "1000" }],
    },
    {
      tier: "standard", display_name: "Standard", monthly_price: "49.00", annual_price: "490.00", annual_saving: "98.00",
      collection: "charge_automatically", days_until_due: null, features: ["Priority support"], is_default: false,
      rate_limit_per_minute: 600, seats: null,
      metrics: [
        { ...METRIC, metric: "api_calls", included: "100000", overage_unit_price: "0.002", hard_cap: null },
        { ...METRIC, metric: "gpu_seconds", entitled: false, included: null, overage_unit_price: null, hard_cap: null },
      ],
    },
    {
      tier: "enterprise", display_name: "Enterprise", monthly_price: null, annual_price: "10000.00", annual_saving: null,
      collection: "send_invoice", days_until_due: 30, features: ["Audit logging"], is_default: false,
      rate_limit_per_minute: 6000, seats: null,
      metrics: [{ ...METRIC, metric: "api_calls", included: "1000000", overage_unit_price: "0.001", hard_cap: null }],
    },
  ],
} satisfies Schemas["PlanList"];
