"""Backtest on settled history (``meterline forecast backtest --from-warehouse``, docs/forecasting.md): every
finalized invoice's period forecast as the product would have forecast it at days 7, 15 and 25 (the
settler's own ``forecast_account`` with ``now`` at that midnight), against the invoice's finalized total;
the same for linear extrapolation of the period to date, priced the same way. The error statistics are
``rating.forecast.backtest``'s."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy.orm import Session, sessionmaker

from rating.addons import period_quantities
from rating.aggregation import GaugeState
from rating.credits import CreditGrant
from rating.forecast.backtest import CHECK_DAYS, Outcome
from rating.forecast.daily import daily_series
from rating.forecast.method import QuantityForecast, linear_extrapolation
from rating.forecast.pricing import price_forecast
from rating.invoice import billing_segments
from rating.periods import Period
from rating.settle import usage_by_segment
from rating.subscriptions import SubscriptionHistory
from rating.tax import TaxRate
from sinks.clickhouse.settlement import SettlementStore
from streams.settlement.forecast import _taxed, forecast_account
from streams.settlement.settler import InvoiceInputs, Settler
from streams.store.addons import uses
from streams.store.db import table_check
from streams.store.models import ContractAddonRow

DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class SettledPeriod:
    """A finalized invoice: whose, which period, its tier at the period's end and its total."""

    account_id: str
    tier: str
    period: Period
    total: Decimal


#: An account's add-on quantities of a period as recorded before an instant (``store_addons_known``).
AddonsKnown = Callable[[str, Period, datetime], Mapping[str, Decimal]]


def store_addons_known(make_session: sessionmaker[Session]) -> AddonsKnown:
    """The add-ons and logged hours of the billing store recorded before the replay day (``created_at``)."""
    migrated = table_check(ContractAddonRow.__tablename__)

    def addons(account: str, period: Period, known_by: datetime) -> Mapping[str, Decimal]:
        with make_session() as s:
            return period_quantities(uses(s, account, known_by=known_by), period) if migrated(s) else {}

    return addons


class _AsOf:
    """The settler as it stood at a cutoff: what ``forecast_account`` reads (hourly rows, invoice inputs,
    tax rates, the tier's typical day), refusing any read past the cutoff. ``invoice_inputs`` reads hourly rows
    before ``until`` only (checked here too); the period's storage readings, the corrections (by ``found_at``),
    the add-ons (by when they were recorded, given ``addons``) and the tax rates (those in effect on the cutoff's
    day) are cut here."""

    def __init__(
        self, settler: Settler, store: SettlementStore, cutoff: datetime, addons: AddonsKnown | None = None
    ) -> None:
        self._settler, self._store = settler, store
        self._cutoff, self._addons = cutoff, addons
        self.inputs: InvoiceInputs | None = None  # the last inputs read: the baseline is priced from them

    def invoice_inputs(self, account: str, period: Period, *, until: datetime, history_from: datetime) -> InvoiceInputs:
        if until > self._cutoff:
            raise ValueError(f"read until {until.isoformat()} past the cutoff {self._cutoff.isoformat()}")
        inputs = self._settler.invoice_inputs(account, period, until=until, history_from=history_from)
        if any(r.hour >= until for r in inputs.rows):
            raise ValueError("settled rows from after the cutoff were read")
        # The period's storage average from the readings before the cutoff only (the last one holds on).
        gauge = self._store.storage_many([account], period, self._settler.histories)[account]
        cut_ms = int(self._cutoff.timestamp() * 1000)
        before = GaugeState(gauge.carried_in, tuple(x for x in gauge.samples if x.ts_ms < cut_ms))
        segments = billing_segments(inputs.history, period, inputs.catalog)
        storage = [u.storage_gb_avg for u in usage_by_segment([], segments, before)]
        usage = [replace(u, storage_gb_avg=gb) for u, gb in zip(inputs.usage, storage, strict=True)]
        if self._addons is not None:
            usage[-1] = replace(usage[-1], addons=self._addons(account, period, self._cutoff))
        found = self._store.corrections_found_many([account], period.key).get(account, [])
        corrections = [c for c, at in found if at < self._cutoff]
        self.inputs = replace(inputs, usage=usage, corrections=corrections)
        return self.inputs

    def tax_rates(self, account: str, period: Period) -> Sequence[TaxRate]:
        # The invoice takes the rates in effect on the period's last day; the replay those in effect on the
        # cutoff's day (a rate taking effect later was not known to apply). The rates are looked up by the
        # period's last day, so the period is cut to end the day after the cutoff.
        known = Period(period.start, min(period.end, self._cutoff + DAY))
        return self._settler.tax_rates(account, known)

    def typical_daily(self, tier: str, start: datetime, end: datetime) -> dict[str, float]:
        if end > self._cutoff:
            raise ValueError("the tier's typical day was read past the cutoff")
        return self._settler.typical_daily(tier, start, end)


def settled_periods(
    documents: Iterable[dict[str, Any]], settler: Settler, *, accounts: Sequence[str] = ()
) -> list[SettledPeriod]:
    """The finalized invoices' periods (``Invoices.final_invoices`` documents), of ``accounts`` if given,
    oldest first; the tier is the subscription's at the period's end."""
    out = []
    for doc in documents:
        account = str(doc["account_id"])
        if accounts and account not in accounts:
            continue
        period = Period(_utc(doc["period_start"]), _utc(doc["period_end"]))
        history = settler.histories(account)
        version = history.at(period.end - timedelta(hours=1)) if history is not None else None
        tier = version.tier if version is not None else "unknown"
        out.append(SettledPeriod(account, tier, period, Decimal(str(doc["total"]))))
    return sorted(out, key=lambda p: (p.period.start, p.account_id))


def _utc(value: Any) -> datetime:
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return at.astimezone(UTC)


def backtest_period(
    settler: Settler,
    store: SettlementStore,
    settled: SettledPeriod,
    days: Sequence[int] = CHECK_DAYS,
    addons: AddonsKnown | None = None,
) -> list[Outcome]:
    """``settled``'s period forecast at each of ``days`` (the settled full days before that midnight), with
    the linear-extrapolation baseline, against the finalized total."""
    period, account = settled.period, settled.account_id
    length = (period.end - period.start) // DAY
    history = settler.histories(account)
    out = []
    for day in days:
        cutoff = period.start + day * DAY
        if day >= length or (history is not None and plan_changed_after(history, period, cutoff)):
            continue
        view = _AsOf(settler, store, cutoff, addons)
        # forecast_account reads only invoice_inputs, tax_rates and typical_daily of the settler: the watermark is
        # the cutoff (a midnight) and there are no live figures.
        doc = forecast_account(cast(Settler, view), account, period, cutoff, settled_until=cutoff, live={}).document
        inputs = view.inputs
        assert inputs is not None  # forecast_account always reads its inputs
        if grant_starts_after(inputs.credits, period, cutoff):
            continue
        total = doc["total"]
        out.append(
            Outcome(
                account,
                settled.tier,
                day,
                any(r.hour < period.start for r in inputs.rows),
                settled.total,
                Decimal(total["expected"]),
                Decimal(total["p10"]),
                Decimal(total["p90"]),
                _baseline(cast(Settler, view), account, period, inputs, day, length),
            )
        )
    return out


def plan_changed_after(history: SubscriptionHistory, period: Period, cutoff: datetime) -> bool:
    """Whether a subscription version takes effect in [cutoff, period end): the store keeps only the history as
    it is now, so a forecast replayed at ``cutoff`` would price a plan change it could not have known of. Such
    days are left out of the replay."""
    return any(cutoff <= v.effective_from < period.end for v in history.versions)


def grant_starts_after(grants: Iterable[CreditGrant], period: Period, cutoff: datetime) -> bool:
    """Whether a credit grant takes effect in [cutoff, period end): left out like a plan change (the grants
    are kept as they are now, not as they were known at the cutoff)."""
    return any(cutoff <= g.effective_at < period.end for g in grants)


def _baseline(settler: Settler, account: str, period: Period, inputs: InvoiceInputs, day: int, length: int) -> Decimal:
    """The invoice total with every summed metric extrapolated linearly from the period to date."""
    current = daily_series([r for r in inputs.rows if r.hour >= period.start], period.start, day)
    naive = {}
    for key, series in current.items():
        b = linear_extrapolation(series, length)
        naive[key] = QuantityForecast(float(sum(series)), b, b, b, length - day)
    priced = price_forecast(
        inputs.history,
        inputs.usage,
        period,
        inputs.catalog,
        naive,
        corrections=inputs.corrections,
        credits=inputs.credits,
        charged_earlier_in_year=inputs.charged_earlier_in_year,
    ).expected
    return _taxed(priced, settler, account, period).total


def backtest_settled(
    settler: Settler, store: SettlementStore, periods: Iterable[SettledPeriod], addons: AddonsKnown | None = None
) -> list[Outcome]:
    """Every settled period's outcomes at days 7, 15 and 25 (``store``: the settler's warehouse; ``addons``: the
    add-ons as recorded before each replay day, else as the settler reads them now)."""
    return [o for p in periods for o in backtest_period(settler, store, p, addons=addons)]
