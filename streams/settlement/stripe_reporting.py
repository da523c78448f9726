"""Settled usage reported to Stripe Billing Meters (docs/architecture.md §8; issue #5 "Stripe sink").

Only accounts whose terms collect automatically (standard) are metered; invoiced accounts
(enterprise) get invoice items at period close instead. Each settled hour's billable quantity per meter
is one meter event; late usage that raises an already-reported hour is sent as an addition with the
next revision of its identifier (the meters sum). Storage overage depends on the period's
time-weighted average, so it is reported once, from the finalized invoice. Stripe takes event times up
to 35 days back: older windows are left to a correction invoice item and counted as ``too_old``.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from rating.catalog.loader import Catalog
from rating.settle import HistoryLookup, version_for
from rating.subscriptions import rated_tier
from sinks.clickhouse.settlement import SettlementStore
from sinks.clickhouse.stripe_ledger import ClickHouseReportLedger
from sinks.stripe.catalog_spec import STORAGE_OVERAGE, meter_unit, meter_value, metered_line_code
from sinks.stripe.meter import MeterReport, StripeMeterReporter

log = logging.getLogger(__name__)
#: Stripe refuses meter events older than this (we keep a day of margin).
STRIPE_MAX_AGE = timedelta(days=34)
HOUR = timedelta(hours=1)


@dataclass
class ReportRun:
    outcomes: Counter[str] = field(default_factory=Counter)  # acknowledged / retrying / failed / skipped
    no_customer: set[str] = field(default_factory=set)
    over_reported: int = 0

    def summary(self) -> dict[str, object]:
        return {**dict(self.outcomes), "no_customer": len(self.no_customer), "over_reported": self.over_reported}


class UsageReporter:
    def __init__(
        self,
        store: SettlementStore,
        ledger: ClickHouseReportLedger,
        reporter: StripeMeterReporter,
        catalog: Catalog,
        histories: HistoryLookup,
        *,
        concurrency: int = 8,
    ) -> None:
        self._store, self._ledger, self._reporter = store, ledger, reporter
        self._concurrency = concurrency
        self._catalog, self._histories = catalog, histories

    def due(self, now: datetime, run: ReportRun) -> list[MeterReport]:
        """What settled data says Stripe should hold, minus what it acknowledged already."""
        since = now - STRIPE_MAX_AGE
        wanted: dict[tuple[str, str, datetime], tuple[str, int]] = {}
        for w in self._store.billable_windows(since):
            code = metered_line_code(w.metric, w.dimension)
            if code is None:
                continue
            customer = self._metered_customer(w.account_id, w.hour, run)
            if customer:
                unit = meter_unit(code)
                wanted[(w.account_id, unit.event_name, w.hour)] = (customer, meter_value(code, w.billable))
        for line in self._store.final_lines(STORAGE_OVERAGE, since):
            last_hour = line.period_end - HOUR  # inside the period, so the meter bills it on the period's cycle
            customer = self._metered_customer(line.account_id, last_hour, run)
            if customer and last_hour >= since:
                unit = meter_unit(STORAGE_OVERAGE)
                value = meter_value(STORAGE_OVERAGE, line.quantity)
                wanted[(line.account_id, unit.event_name, last_hour)] = (customer, value)
        reported = self._ledger.reported(since)
        reports = []
        for (account, meter, hour), (customer, value) in sorted(wanted.items()):
            count, total = reported.get((account, meter, hour), (0, 0))
            if value > total:
                reports.append(MeterReport(account, customer, meter, hour, hour + HOUR, value - total, count))
            elif value < total:
                run.over_reported += 1
                log.error("Stripe holds more than settled for %s %s %s: %s > %s", account, meter, hour, total, value)
        return reports

    def _metered_customer(self, account: str, at: datetime, run: ReportRun) -> str | None:
        version = version_for(account, "user", self._histories, at)
        tier = rated_tier(version, self._catalog.at(at))
        if tier.payment_terms.collection != "charge_automatically":
            return None
        if not version.stripe_customer_id:
            run.no_customer.add(account)
            return None
        return version.stripe_customer_id

    def report(self, now: datetime) -> ReportRun:
        """Send what is due, ``concurrency`` calls at a time; the reports of one customer and meter go
        one after the other, in window order (Stripe allows one concurrent call per customer and meter)."""
        run = ReportRun()
        lanes: dict[tuple[str, str], list[MeterReport]] = defaultdict(list)
        for r in self.due(now, run):
            lanes[(r.customer_id, r.meter)].append(r)

        def send(lane: list[MeterReport]) -> Counter[str]:
            return Counter(self._reporter.report(r) for r in lane)

        with ThreadPoolExecutor(max_workers=self._concurrency, thread_name_prefix="stripe-report") as pool:
            for outcomes in pool.map(send, lanes.values()):
                run.outcomes.update(outcomes)
        if run.no_customer:
            log.warning("%d metered accounts have no Stripe customer: not reported", len(run.no_customer))
        return run
