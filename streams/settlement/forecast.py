"""An account's period-end forecast from settled data (docs/forecasting.md): the settled full days of
the period and up to sixteen weeks before it, forecast by ``rating.forecast`` and priced like the
upcoming invoice (fees, add-ons, credits, commitments, corrections and taxes)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from rating.forecast.daily import daily_series, series_key
from rating.forecast.intraday import day_profile, share_before, with_today
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
from streams.settlement.settler import InvoiceInputs, Settler

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
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
    """The forecast of ``period`` at ``now`` (``forecast_account``)."""
    return forecast_account(settler, account, period, now).document


def settled_watermark(settler: Settler, period: Period, now: datetime, settled_until: datetime | None) -> datetime:
    """How far the forecast reads settled hours: ``settled_until`` (the settler's watermark when not given;
    the last midnight before ``now`` before any settlement), never past ``now``, inside the period."""
    mark = settled_until if settled_until is not None else settler.settled_until()
    if mark is None:
        mark = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return min(max(min(mark, now), period.start), period.end)


def history_start(period: Period) -> datetime:
    """The first day of the history a forecast of ``period`` reads (sixteen weeks before it)."""
    return period.start - HISTORY_DAYS * DAY


def forecast_account(
    settler: Settler,
    account: str,
    period: Period,
    now: datetime,
    *,
    settled_until: datetime | None = None,
    live: Mapping[str, float] | None = None,
    inputs: InvoiceInputs | None = None,
) -> AccountForecast:
    """The forecast of ``period`` at ``now``, with its AI mix by provider/model: the period's settled whole days
    and the hours of the day in progress settled before the watermark (``settled_watermark``), the live stage's
    counts after it (``live``, per metric, up to ``now`` or the day's end; read from the settler when not
    given), the rest of the day and the days after it forecast (docs/forecasting.md, fourth round).
    ``inputs``: the settler's ``invoice_inputs`` until the watermark from ``history_start(period)``, when read
    already (the refresh reads many accounts' at once)."""
    watermark = settled_watermark(settler, period, now, settled_until)
    length = (period.end - period.start) // DAY
    elapsed = min((watermark - period.start) // DAY, length)
    day_start = period.start + elapsed * DAY
    hist_start = history_start(period)
    if inputs is None:
        inputs = settler.invoice_inputs(account, period, until=watermark, history_from=hist_start)
    before = daily_series([r for r in inputs.rows if r.hour < period.start], hist_start, HISTORY_DAYS)
    current = daily_series([r for r in inputs.rows if period.start <= r.hour < day_start], period.start, elapsed)
    today = {k: v[0] for k, v in daily_series([r for r in inputs.rows if r.hour >= day_start], day_start, 1).items()}
    keys = sorted(set(before) | set(current) | set(today))
    so_far = {key: current.get(key, [0.0] * elapsed) for key in keys}
    # The plan now (a subscription started today is after the cutoff: its version is still the plan).
    version = next((v for v in reversed(inputs.history.versions) if v.effective_from < period.end), None)
    typical: dict[str, float] | None = None
    if not any(r.hour < day_start for r in inputs.rows) and version is not None and elapsed < length:
        # No whole day with usage yet: the tier's typical profile over the days to come, with a wide interval.
        typical = settler.typical_daily(version.tier, day_start - TYPICAL_DAYS * DAY, day_start)

    def whole_days(days: int) -> dict[str, QuantityForecast]:
        """Every metric to the end of a period of ``days`` days from the settled whole days."""
        if typical is not None:
            return {
                key: forecast_quantity([], [], days - elapsed, day_start.weekday(), typical_daily=q)
                for key, q in sorted(typical.items())
            }
        # Premium features follow the API calls' forecast (docs/forecasting.md, third round): the same
        # forecast_metrics the backtest measures. A metric without a day in the period so far had none.
        return forecast_metrics(before, so_far, days, period.start.weekday())

    forecasts = whole_days(length)
    hours = (watermark - day_start) / HOUR
    live_until = min(max(now, watermark), day_start + DAY)
    if elapsed < length:
        if live is None:
            found = settler.live_since([account], watermark, live_until).get(account, {})
            live = {k: float(q) for k, q in found.items()}
        if hours > 0 or any(live.values()):
            by_day = [r for r in inputs.rows if r.hour < day_start]  # the profile: today's hours so far would tilt it
            forecasts = _in_the_day(
                forecasts, whole_days(elapsed + 1), by_day, today, live, hours, live_until - day_start
            )
    kw: dict[str, Any] = {
        "corrections": inputs.corrections,
        "credits": inputs.credits,
        "charged_earlier_in_year": inputs.charged_earlier_in_year,
    }
    priced: InvoiceForecast = price_forecast(inputs.history, inputs.usage, period, inputs.catalog, forecasts, **kw)
    settled = price_forecast(inputs.history, inputs.usage, period, inputs.catalog, {}, **kw).expected
    low, expected, high = (_taxed(i, settler, account, period) for i in (priced.low, priced.expected, priced.high))
    document = {
        "account_id": account,
        "period_start": period.start.isoformat(),
        "period_end": period.end.isoformat(),
        "as_of": day_start.isoformat(),
        "settled_until": watermark.isoformat(),
        "live_until": (live_until if live and any(live.values()) else watermark).isoformat(),
        "days_elapsed": elapsed,
        "days_in_period": length,
        "currency": inputs.catalog.currency,
        "total": {
            "to_date": money_text(_taxed(settled, settler, account, period).total),
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


def _in_the_day(
    whole: Mapping[str, QuantityForecast],
    day: Mapping[str, QuantityForecast],
    rows: list[HourlyUsage],
    today: Mapping[str, float],
    live: Mapping[str, float],
    hours: float,
    live_span: timedelta,
) -> dict[str, QuantityForecast]:
    """Each metric's whole-day forecast brought to the watermark (``hours`` of the day settled) and the live
    counts after it (``rating.forecast.intraday``), on the account's hour-of-day profile of that metric."""
    by_hour: dict[str, list[float]] = {}
    for r in rows:
        key = series_key(r)
        if key is not None:
            by_hour.setdefault(key, [0.0] * 24)[r.hour.hour] += float(r.quantity)
    out = {}
    for key, f in whole.items():
        known = max(live_span / HOUR, hours) if live.get(key) else hours
        share = share_before(day_profile(by_hour.get(key, [0.0] * 24)), known)
        out[key] = with_today(f, day[key], today.get(key, 0.0), live.get(key, 0.0), share)
    return out


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
