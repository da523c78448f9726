"""A forecast is priced by the invoice's own code: base fee, overage, seats, exactly as the invoice says."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from rating.catalog.loader import load_catalog
from rating.forecast.method import QuantityForecast
from rating.forecast.pricing import price_forecast
from rating.invoice import preview_invoice
from rating.periods import period_containing
from rating.subscriptions import SubscriptionHistory, SubscriptionVersion
from rating.usage import PeriodUsage

START = datetime(2026, 3, 1, tzinfo=UTC)
CATALOG = load_catalog().at(START)
PERIOD = period_containing(date(2026, 3, 1), START)


def _history(tier: str, kind: str = "user") -> SubscriptionHistory:
    v = SubscriptionVersion(
        account_id="acct-1", account_kind=kind, tier=tier, anchor=date(2026, 3, 1), effective_from=START, version=1
    )  # type: ignore[arg-type]
    return SubscriptionHistory("acct-1", [v])


def _q(to_date: float, p10: float, expected: float, p90: float) -> QuantityForecast:
    return QuantityForecast(to_date, expected, p10, p90, 16)


def test_120000_calls_on_standard_is_200_dollars_of_overage_plus_the_base_fee() -> None:
    settled = [PeriodUsage(api_calls=Decimal(60_000))]
    f = price_forecast(
        _history("standard"), settled, PERIOD, CATALOG, {"api_calls": _q(60_000, 90_000, 120_000, 150_000)}
    )
    assert f.expected.total == Decimal("249.99")  # 49.99 + 20,000 x $0.01
    assert f.low.total == Decimal("49.99")  # under the included 100,000: the base fee alone
    assert f.high.total == Decimal("549.99")
    by_code = {ln.code: ln.amount for ln in f.expected.lines}
    assert by_code["api_calls_overage"] == Decimal("200.00")


def test_the_forecast_equals_the_invoice_of_the_forecast_usage() -> None:
    history = _history("enterprise", "org")
    settled = [PeriodUsage(api_calls=Decimal(700_000), premium_features={"deep_research": Decimal(10)}, seats=150)]
    forecasts = {
        "api_calls": _q(700_000, 1_100_000, 1_300_000.6, 1_500_000),
        "premium_feature:deep_research": _q(10, 15, 20, 30),
    }
    f = price_forecast(history, settled, PERIOD, CATALOG, forecasts)
    invoice = preview_invoice(
        history,
        [PeriodUsage(api_calls=Decimal(1_300_001), premium_features={"deep_research": Decimal(20)}, seats=150)],
        PERIOD,
        CATALOG,
    )
    assert f.expected.lines == invoice.lines
    # 150 seats x $40, the annual platform fee (March starts the contract year), 300,001 x $0.01, 20 x $0.50
    assert f.expected.total == Decimal("6000") + Decimal("10000") + Decimal("3000.01") + Decimal("10.00")
    assert f.low.total <= f.expected.total <= f.high.total
