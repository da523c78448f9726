"""A forecast priced as the invoice would price it: the rating code's own ``preview_invoice``.

The period's settled usage per subscription stretch is known; the forecast adds the expected (or the
p10, or the p90) remaining quantity of each summed metric to the last stretch, whose version is the
one in effect now. Base fees, prorations already known, seats, add-ons and contract commitments come
out of ``preview_invoice`` exactly as on the invoice. Pricing is monotone in every quantity, so the
invoice at the p10 (p90) quantities bounds the invoice's own 80 % interval from below (above): the
metrics are taken to move together, which errs towards a wider interval.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_EVEN, Decimal

from rating.catalog.model import CatalogVersion
from rating.credits import CreditGrant
from rating.forecast.daily import PREMIUM_PREFIX
from rating.forecast.method import QuantityForecast
from rating.invoice import Correction, Invoice, preview_invoice
from rating.periods import Period
from rating.subscriptions import SubscriptionHistory
from rating.usage import PeriodUsage

#: A forecast adds remaining usage to api_calls, ai_requests and each premium feature; storage is an
#: average and seats are distinct users: both are taken as they stand (docs/forecasting.md).


@dataclass(frozen=True, slots=True)
class InvoiceForecast:
    low: Invoice  # every quantity at its p10
    expected: Invoice
    high: Invoice  # every quantity at its p90


def _whole(x: float) -> Decimal:
    """Counts are whole: the remaining quantity rounded to the nearest unit (float noise such as
    50,000.0000001 must not add a unit), never below zero."""
    return Decimal(repr(max(x, 0.0))).to_integral_value(ROUND_HALF_EVEN)


def _added(usage: PeriodUsage, extra: Mapping[str, float]) -> PeriodUsage:
    premium = dict(usage.premium_features)
    api_calls, ai_requests = usage.api_calls, usage.ai_requests
    for key, value in extra.items():
        if key.startswith(PREMIUM_PREFIX):
            feature = key[len(PREMIUM_PREFIX) :]
            premium[feature] = premium.get(feature, Decimal(0)) + _whole(value)
        elif key == "api_calls":
            api_calls += _whole(value)
        elif key == "ai_requests":
            ai_requests += _whole(value)
        else:
            raise ValueError(f"cannot forecast {key!r}: not a summed metric")
    return replace(usage, api_calls=api_calls, ai_requests=ai_requests, premium_features=premium)


def usage_at(usage: PeriodUsage, forecasts: Mapping[str, QuantityForecast], pick: str = "expected") -> PeriodUsage:
    """``usage`` (the period's settled usage) with each forecast's remaining ``pick`` quantity
    (``p10``, ``expected`` or ``p90``) added: the period's usage as forecast."""
    return _added(usage, {k: getattr(f, pick) - f.to_date for k, f in forecasts.items()})


def price_forecast(
    history: SubscriptionHistory,
    settled_by_segment: Sequence[PeriodUsage],
    period: Period,
    catalog: CatalogVersion,
    forecasts: Mapping[str, QuantityForecast],
    *,
    corrections: Sequence[Correction] = (),
    credits: Sequence[CreditGrant] = (),
    charged_earlier_in_year: Decimal = Decimal(0),
) -> InvoiceForecast:
    """The period's invoice at the p10, expected and p90 quantities of ``forecasts`` (keys: ``api_calls``,
    ``ai_requests``, ``premium_feature:<feature>``; each forecast's ``to_date`` is already in the
    settled usage). Corrections, credit grants and the contract year's earlier charges (commitments) as
    ``preview_invoice`` takes them."""

    def at(pick: str) -> Invoice:
        usage = [*settled_by_segment[:-1], usage_at(settled_by_segment[-1], forecasts, pick)]
        return preview_invoice(
            history,
            usage,
            period,
            catalog,
            corrections=corrections,
            credits=credits,
            charged_earlier_in_year=charged_earlier_in_year,
        )

    return InvoiceForecast(at("p10"), at("expected"), at("p90"))
