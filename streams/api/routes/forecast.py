"""``/api/billing/forecast``: where the current period's invoice will end (docs/forecasting.md)."""

from __future__ import annotations

from streams.api.common import invoiced_period_now, store_histories
from streams.api.forecast_models import Forecast
from streams.api.models import AccountQuery
from streams.api.routing import Call, Endpoint
from streams.store.addons import store_addons
from streams.store.credits import store_credits
from streams.store.memberships import store_memberships

_TAG = "forecast"


def get_forecast(call: Call) -> Forecast:
    """Readable by whoever may read the account's invoices: the forecast is an invoice to come."""
    q: AccountQuery = call.query
    now = call.ctx.clock()
    period = invoiced_period_now(call, q.account)

    sessions = call.ctx.sessions
    doc = call.ctx.warehouse.forecast(
        call.ctx.catalog,
        store_histories(sessions),
        q.account,
        period,
        now,
        store_addons(sessions),
        store_credits(sessions),
        store_memberships(sessions),
    )
    return Forecast.model_validate(doc)


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
]
