"""An account's period-end forecast from settled data (docs/forecasting.md): the settled full days of
the period and up to sixteen weeks before it, forecast by ``rating.forecast`` and priced like the
upcoming invoice (fees, add-ons, credits, commitments, corrections and taxes)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from rating.forecast.daily import daily_series
from rating.forecast.method import QuantityForecast, forecast_quantity
from rating.forecast.pricing import InvoiceForecast, price_forecast, usage_at
from rating.forecast.ratio import forecast_metrics
from rating.forecast.shares import recent_shares, split_forecast
from rating.invoice import Invoice
from rating.money import money_text
from rating.periods import Period
from rating.settle import HourlyUsage
from rating.tax import tax_lines
from rating.usage import PeriodUsage
from schemas.events import Metric
from streams.settlement.settler import Settler

DAY = timedelta(days=1)
HISTORY_DAYS = 112  # rating.forecast.method.SEASON_DAYS
TYPICAL_DAYS = 28  # the days the tier's typical profile is taken from


def _taxed(invoice: Invoice, settler: Settler, account: str, period: Period) -> Invoice:
    rates = settler.tax_rates(account, period)
    return replace(invoice, lines=(*invoice.lines, *tax_lines(invoice.lines, rates))) if rates else invoice


@dataclass(frozen=True, slots=True)
class AiModelForecast:
    """One provider/model's AI requests to the period end and the platform's cost of them (issue #18: the
    AI mix for the platform's analysts). The cost of the remaining requests is at this account's average
    cost per request of that model over the history read."""

    model: str  # provider/model
    requests: QuantityForecast
    cost_to_date: Decimal  # USD, the period's settled cost
    cost_per_request: Decimal  # USD, over the history read
    input_per_request: Decimal = Decimal(0)  # tokens, over the history read
    output_per_request: Decimal = Decimal(0)

    def cost_at(self, requests: float) -> Decimal:
        """The period's cost at ``requests`` requests in all (p10, expected or p90)."""
        extra = Decimal(repr(max(requests - self.requests.to_date, 0.0)))
        return self.cost_to_date + extra * self.cost_per_request


@dataclass(frozen=True, slots=True)
class AccountForecast:
    document: dict[str, Any]  # the GET /api/billing/forecast answer
    ai_models: list[AiModelForecast]
    #: The period's usage at the expected quantities (None when a plan change split the period: the
    #: recommendations compare whole periods under one plan).
    expected_usage: PeriodUsage | None = None


def forecast_document(settler: Settler, account: str, period: Period, now: datetime) -> dict[str, Any]:
    """The forecast of ``period`` as of the last midnight before ``now`` (settled full days)."""
    return forecast_account(settler, account, period, now).document


def forecast_account(settler: Settler, account: str, period: Period, now: datetime) -> AccountForecast:
    """The forecast of ``period`` as of the last midnight before ``now``, with its AI mix by provider/model."""
    elapsed = max(min((now - period.start) // DAY, (period.end - period.start) // DAY), 0)
    cutoff = period.start + elapsed * DAY
    hist_start = period.start - HISTORY_DAYS * DAY
    length = (period.end - period.start) // DAY
    inputs = settler.invoice_inputs(account, period, until=cutoff, history_from=hist_start)
    before = daily_series([r for r in inputs.rows if r.hour < period.start], hist_start, HISTORY_DAYS)
    current = daily_series([r for r in inputs.rows if r.hour >= period.start], period.start, elapsed)
    keys = sorted(set(before) | set(current))
    # Premium features follow the API calls' forecast (docs/forecasting.md, third round): the same
    # forecast_metrics the backtest measures. A metric without a day in the period so far had none.
    forecasts: dict[str, QuantityForecast] = forecast_metrics(
        before, {key: current.get(key, [0.0] * elapsed) for key in keys}, length, period.start.weekday()
    )
    # The plan now (a subscription started today is after the cutoff: its version is still the plan).
    version = next((v for v in reversed(inputs.history.versions) if v.effective_from < period.end), None)
    if not inputs.rows and version is not None and elapsed < length:
        # No usage settled at all yet: the tier's typical profile over the days to come, with a wide interval.
        typical = settler.typical_daily(version.tier, cutoff - TYPICAL_DAYS * DAY, cutoff)
        forecasts = {
            key: forecast_quantity([], [], length - elapsed, cutoff.weekday(), typical_daily=q)
            for key, q in sorted(typical.items())
        }
    kw: dict[str, Any] = {
        "corrections": inputs.corrections,
        "credits": inputs.credits,
        "charged_earlier_in_year": inputs.charged_earlier_in_year,
    }
    priced: InvoiceForecast = price_forecast(inputs.history, inputs.usage, period, inputs.catalog, forecasts, **kw)
    so_far = price_forecast(inputs.history, inputs.usage, period, inputs.catalog, {}, **kw).expected
    low, expected, high = (_taxed(i, settler, account, period) for i in (priced.low, priced.expected, priced.high))
    document = {
        "account_id": account,
        "period_start": period.start.isoformat(),
        "period_end": period.end.isoformat(),
        "as_of": cutoff.isoformat(),
        "days_elapsed": elapsed,
        "days_in_period": length,
        "currency": inputs.catalog.currency,
        "total": {
            "to_date": money_text(_taxed(so_far, settler, account, period).total),
            "expected": money_text(expected.total),
            "p10": money_text(low.total),
            "p90": money_text(high.total),
        },
        "metrics": [
            {
                "metric": key,
                "to_date": _qty(f.to_date),
                "expected": _qty(f.expected),
                "p10": _qty(f.p10),
                "p90": _qty(f.p90),
                "daily": [_qty(v) for v in current.get(key, [])],
            }
            for key, f in forecasts.items()
        ],
        "lines": [ln.to_document() for ln in expected.lines],
    }
    ai = _ai_models(inputs.rows, period, hist_start, elapsed, forecasts.get(str(Metric.AI_REQUESTS)))
    whole = usage_at(inputs.usage[0], forecasts) if len(inputs.usage) == 1 else None
    return AccountForecast(document, ai, whole)


def _ai_models(
    rows: list[HourlyUsage], period: Period, hist_start: datetime, elapsed: int, total: QuantityForecast | None
) -> list[AiModelForecast]:
    """Each provider/model's share of the account's AI requests forecast (``rating.forecast.shares``: the
    models sum to the account's total)."""
    ai = [r for r in rows if r.metric == Metric.AI_REQUESTS]
    if total is None or not ai:
        return []
    days = HISTORY_DAYS + elapsed
    models = sorted({r.dimension for r in ai})
    mine = {m: [r for r in ai if r.dimension == m] for m in models}
    split = split_forecast(
        total,
        {m: float(sum((r.quantity for r in rs if r.hour >= period.start), Decimal(0))) for m, rs in mine.items()},
        recent_shares({m: _daily(rs, hist_start, days) for m, rs in mine.items()}),
    )
    out = []
    for model, rs in mine.items():
        requests = sum((r.quantity for r in rs), Decimal(0))
        out.append(
            AiModelForecast(
                model or "unknown",
                split[model],
                sum((r.ai_cost for r in rs if r.hour >= period.start), Decimal(0)),
                _per(requests, [r.ai_cost for r in rs]),
                _per(requests, [Decimal(r.input_tokens) for r in rs]),
                _per(requests, [Decimal(r.output_tokens) for r in rs]),
            )
        )
    return out


def _per(requests: Decimal, values: list[Decimal]) -> Decimal:
    return sum(values, Decimal(0)) / requests if requests else Decimal(0)


def _daily(rows: list[HourlyUsage], start: datetime, days: int) -> list[float]:
    out = [0.0] * days
    for r in rows:
        i = (r.hour - start) // DAY
        if 0 <= i < days:
            out[i] += float(r.quantity)
    return out


def _qty(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".") or "0"
