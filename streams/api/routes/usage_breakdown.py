"""``GET /api/billing/usage/breakdown``: the current period's settled AI requests by provider and model and premium
feature uses by feature, with what they charge (the dashboard's breakdown; docs/web-app-server.md)."""

from __future__ import annotations

from rating.money import money_text, quantity_text
from rating.quota import metric_rule
from schemas.events import Metric
from streams.api.breakdown_models import AiModelUsage, FeatureUsage, UsageBreakdown
from streams.api.common import period_out
from streams.api.models import AccountQuery
from streams.api.routes.usage import usage_reader_terms
from streams.api.routing import Call, Endpoint

_BROKEN_DOWN = (Metric.AI_REQUESTS.value, Metric.PREMIUM_FEATURE.value)


def _provider_model(dimension: str) -> tuple[str, str]:
    """``provider/model`` (the model may hold slashes itself); an event without them is ``unknown``."""
    provider, _, model = dimension.partition("/")
    return provider or "unknown", model or "unknown"


def usage_breakdown(call: Call) -> UsageBreakdown:
    """Who may read the account's live usage (``/usage/current``) may read its breakdown."""
    q: AccountQuery = call.query
    now, catalog, terms = usage_reader_terms(call, q.account)
    period = terms.period(now)
    rows = call.ctx.warehouse.usage_by_dimension(q.account, period.start, min(now, period.end), _BROKEN_DOWN)
    prices = metric_rule(terms.tier, Metric.PREMIUM_FEATURE).per_feature
    ai, features = [], []
    for r in rows:
        if r.metric == Metric.AI_REQUESTS:
            provider, model = _provider_model(r.dimension)
            ai.append(
                AiModelUsage(
                    provider=provider,
                    model=model,
                    requests=quantity_text(r.quantity),
                    input_tokens=r.input_tokens,
                    output_tokens=r.output_tokens,
                    charge=money_text(r.charge),
                )
            )
        else:
            price = prices.get(r.dimension)
            features.append(
                FeatureUsage(
                    feature=r.dimension or "unknown",
                    uses=quantity_text(r.quantity),
                    unit_price=None if price is None else quantity_text(price),
                    charge=money_text(r.charge),
                )
            )
    return UsageBreakdown(
        account_id=q.account,
        period=period_out(period),
        currency=catalog.currency,
        settled_until=call.ctx.warehouse.settled_until(),
        ai=ai,
        premium_features=features,
    )


ENDPOINTS = [
    Endpoint(
        "GET",
        "/api/billing/usage/breakdown",
        usage_breakdown,
        "This period's settled AI requests by provider and model and premium feature uses, with their charges",
        "usage",
        UsageBreakdown,
        query=AccountQuery,
        errors=(401, 403, 404, 503),
    ),
]
