"""``/api/billing/forecast``: where the current period's invoice will end; ``/api/billing/recommendations``:
how to pay less; ``/api/billing/ai-mix``: the platform's AI cost and margin of an account (docs/forecasting.md)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from rating.money import money_text
from rating.periods import Period
from streams.api.common import caller, invoiced_period_now, store_histories
from streams.api.errors import ApiError
from streams.api.forecast_models import AiMix, Forecast, RecommendationOut, Recommendations
from streams.api.models import AccountQuery
from streams.api.routing import Call, Endpoint
from streams.settlement.settler import Settler
from streams.store.addons import store_addons
from streams.store.credits import store_credits
from streams.store.memberships import store_memberships

_TAG = "forecast"
T = TypeVar("T")


def _on_settled(call: Call, work: Callable[[Settler], T], what: str) -> T:
    sessions = call.ctx.sessions
    return call.ctx.warehouse.with_settler(
        call.ctx.catalog,
        store_histories(sessions),
        store_addons(sessions),
        store_credits(sessions),
        store_memberships(sessions),
        work,
        what,
    )


def get_forecast(call: Call) -> Forecast:
    """Readable by whoever may read the account's invoices: the forecast is an invoice to come."""
    from streams.settlement.forecast import forecast_document

    q: AccountQuery = call.query
    now = call.ctx.clock()
    period: Period = invoiced_period_now(call, q.account)
    doc = _on_settled(call, lambda st: forecast_document(st, q.account, period, now), "forecast")
    return Forecast.model_validate(doc)


def get_recommendations(call: Call) -> Recommendations:
    """Readable by whoever may read the account's invoices; only those saving at least
    METERLINE_RECOMMENDATION_MIN_SAVING (never pushy)."""
    from streams.settlement.recommend import account_recommendations, recommendation_document

    q: AccountQuery = call.query
    now: datetime = call.ctx.clock()
    invoiced_period_now(call, q.account)  # the caller may read the invoices (403/404 otherwise)
    least = call.ctx.settings.recommendation_min_saving
    version, recs, _ = _on_settled(
        call, lambda st: account_recommendations(st, q.account, now, least), "recommendations"
    )
    return Recommendations(
        account_id=q.account,
        currency=call.ctx.catalog.at(now).currency,
        min_saving=money_text(least),
        tier=version.tier if version is not None else None,
        recommendations=[RecommendationOut.model_validate(recommendation_document(r)) for r in recs],
    )


def get_ai_mix(call: Call) -> AiMix:
    """The platform's own figures (its cost, its margin): platform operators only."""
    from rating.settle import account_period
    from streams.settlement.forecast import forecast_account
    from streams.settlement.recommend import ai_mix_document

    q: AccountQuery = call.query
    now: datetime = call.ctx.clock()
    with call.ctx.sessions() as s:
        if not caller(call, s).operator:
            raise ApiError(403, "forbidden", "only a platform operator reads the platform's AI cost and margin")
    if store_histories(call.ctx.sessions)(q.account) is None:
        raise ApiError(404, "not_found", f"no subscription of {q.account}")

    def work(st: Settler) -> dict[str, object]:
        f = forecast_account(st, q.account, account_period(q.account, st.histories, now), now)
        return ai_mix_document(f, st, now)

    return AiMix.model_validate(_on_settled(call, work, "AI mix"))


ENDPOINTS = [
    Endpoint(
        "GET",
        "/api/billing/forecast",
        get_forecast,
        "The current period's invoice forecast: expected total and 80 % interval, per metric and priced",
        _TAG,
        Forecast,
        query=AccountQuery,
        errors=(401, 403, 404, 503),
    ),
    Endpoint(
        "GET",
        "/api/billing/recommendations",
        get_recommendations,
        "Ways to pay less, each saving the difference of two sums of invoices (shown from a configured minimum)",
        _TAG,
        Recommendations,
        query=AccountQuery,
        errors=(401, 403, 404, 503),
    ),
    Endpoint(
        "GET",
        "/api/billing/ai-mix",
        get_ai_mix,
        "An account's AI margin this period and the cheaper provider/model mix (platform operators only)",
        _TAG,
        AiMix,
        query=AccountQuery,
        errors=(401, 403, 404, 503),
    ),
]
