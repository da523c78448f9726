"""``GET /api/billing/plans``: the catalog's tiers side by side for the plan comparison (public: prices are no
secret). Everything comes from the catalog version in effect now; an enterprise contract's own prices are
never shown here (they are the account's, read through its subscription)."""

from __future__ import annotations

from decimal import Decimal

from rating.catalog.model import CatalogVersion, Interval, Tier
from streams.api.models import PlanList, PlanMetricOut, PlanOut, PlanSeatBracketOut, PlanSeatsOut
from streams.api.routing import Call, Endpoint

MONTHS_A_YEAR = 12


def _fixed(tier: Tier, interval: Interval) -> Decimal | None:
    """The fixed fees (base and platform) of one ``interval``, or None when the tier is not billed by it."""
    fees = [f[interval] for f in (tier.base_fee, tier.platform_fee) if interval in f]
    return sum(fees, Decimal(0)) if fees else None


def plan_out(catalog: CatalogVersion, name: str, tier: Tier) -> PlanOut:
    monthly, annual = _fixed(tier, "month"), _fixed(tier, "year")
    saving = monthly * MONTHS_A_YEAR - annual if monthly is not None and annual is not None else None
    seats = None
    if tier.seats is not None:
        seats = PlanSeatsOut(
            mode=tier.seats.mode,
            brackets=[
                PlanSeatBracketOut(up_to=b.up_to, unit_amount=b.unit_amount, flat_amount=b.flat_amount)
                for b in tier.seats.tiers
            ],
            minimum_seats=tier.minimum_seats,
        )
    return PlanOut(
        tier=name,
        display_name=tier.display_name,
        is_default=name == catalog.default_tier,
        monthly_price=monthly,
        annual_price=annual,
        annual_saving=saving if saving is not None and saving > 0 else None,
        seats=seats,
        features=sorted(tier.features),
        rate_limit_per_minute=tier.rate_limit_per_minute,
        metrics=[
            PlanMetricOut(
                metric=metric,
                entitled=rule.entitled,
                aggregation=rule.aggregation,
                included=rule.included,
                hard_cap=rule.hard_cap,
                overage_unit_price=rule.unit_price,
                per_feature=dict(sorted(rule.per_feature.items())),
                fair_use_alert=rule.fair_use_alert,
            )
            for metric, rule in tier.metrics.items()
        ],
        collection=tier.payment_terms.collection,
        days_until_due=tier.payment_terms.days_until_due,
    )


def list_plans(call: Call) -> PlanList:
    catalog = call.ctx.catalog.at(call.ctx.clock())
    return PlanList(
        catalog_version=catalog.version,
        currency=catalog.currency,
        plans=[plan_out(catalog, name, tier) for name, tier in catalog.tiers.items()],
        metric_names=catalog.metric_names,
        feature_names=catalog.feature_names,
    )


ENDPOINTS = [
    Endpoint(
        "GET",
        "/api/billing/plans",
        list_plans,
        "The plans (catalog tiers) side by side: prices monthly and annual, included quotas, overage, features",
        "plans",
        PlanList,
        public=True,
        errors=(),
        description="Public, no credentials. From the catalog version in effect now, in the catalog's order.",
    ),
]
