"""``meterline reconcile``: per account and meter, what settlement says is billable, what was reported
to Stripe (``stripe_reports``) and what Stripe's meter event summaries hold, side by side.

A period here is the usage period named ``YYYY-MM`` on each account's own anchor; only accounts
whose terms collect automatically are metered (invoiced tiers are reconciled on their invoices).
Stripe's side is read by ``sinks/stripe/meter_summaries.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from rating.catalog.loader import Catalog
from rating.periods import Period
from rating.settle import HistoryLookup, version_for
from rating.subscriptions import rated_tier
from sinks.clickhouse.settlement import BillableHour, SettlementStore
from sinks.stripe.catalog_spec import STORAGE_OVERAGE, meter_unit, meter_value, metered_line_code
from sinks.stripe.meter_summaries import MeterSummaries
from streams.settlement.settler import period_of


@dataclass(frozen=True, slots=True)
class ReconcileRow:
    account_id: str
    meter: str
    settled: int
    reported: int
    stripe: int

    @property
    def ok(self) -> bool:
        return self.settled == self.reported == self.stripe

    def to_document(self) -> dict[str, object]:
        return {
            "account_id": self.account_id,
            "meter": self.meter,
            "settled": self.settled,
            "reported": self.reported,
            "stripe": self.stripe,
            "ok": self.ok,
        }


def reconcile(
    store: SettlementStore,
    summaries: MeterSummaries,
    catalog: Catalog,
    histories: HistoryLookup,
    accounts: Iterable[str],
    period_key: str,
) -> list[ReconcileRow]:
    """``accounts``: every account with a subscription (metered accounts need one for a Stripe customer)."""
    rows = []
    billable: dict[tuple[datetime, datetime], list[BillableHour]] = {}
    reported_by_span: dict[tuple[datetime, datetime], dict[tuple[str, str], int]] = {}
    for account in sorted(set(accounts)):
        period = period_of(account, histories, period_key)
        version = version_for(account, "user", histories, period.end - timedelta(microseconds=1))
        tier = rated_tier(version, catalog.at(period.start))
        customer = version.stripe_customer_id
        if tier.payment_terms.collection != "charge_automatically" or not customer:
            continue
        span = (period.start, period.end)
        if span not in billable:  # accounts on the same anchor share one query
            billable[span] = store.billable_in(*span)
            reported_by_span[span] = store.reported_in(*span)
        settled = _settled(store, account, period, billable[span])
        reported = reported_by_span[span]
        meters = set(settled) | {m for (a, m) in reported if a == account}
        for meter in sorted(meters):
            rows.append(
                ReconcileRow(
                    account,
                    meter,
                    settled.get(meter, 0),
                    reported.get((account, meter), 0),
                    summaries.total(customer, meter, period.start, period.end),
                )
            )
    return rows


def _settled(store: SettlementStore, account: str, period: Period, hours: list[BillableHour]) -> dict[str, int]:
    """Meter units per meter, rounded per hour as the reporter rounds them."""
    out: dict[str, int] = {}
    for h in hours:
        code = metered_line_code(h.metric, h.dimension)
        if h.account_id != account or code is None:
            continue
        name = meter_unit(code).event_name
        out[name] = out.get(name, 0) + meter_value(code, h.billable)
    for line in store.final_lines(STORAGE_OVERAGE, period.end):
        if line.account_id == account and line.period_end == period.end:
            name = meter_unit(STORAGE_OVERAGE).event_name
            out[name] = out.get(name, 0) + meter_value(STORAGE_OVERAGE, line.quantity)
    return out
