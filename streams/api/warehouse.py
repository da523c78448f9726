"""The API's reads of settled data in ClickHouse: invoices, settled usage, the upcoming invoice.

The queries live in ``sinks/clickhouse/usage_queries.py`` and raise ``WarehouseUnavailable``, which
``streams/api/errors.py`` renders as a 503. The client comes from
``streams.settings.connect_clickhouse``: a ClickHouse server, the local warehouse bridge when
one serves the chDB directory, else embedded chDB (one process per directory: never while a worker
holds it). It is opened on first use, migrated (idempotent), and used by one thread at a time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from rating.catalog.loader import Catalog
from rating.credits import CREDIT_PREFIX, CreditGrant
from rating.periods import Period, period_containing
from rating.seats import Membership
from rating.settle import HistoryLookup
from schemas.events import Metric
from sinks.clickhouse.member_usage import MemberUsageRow, member_usage_rows
from sinks.clickhouse.org_analytics import ModuleUse, MonthUse, monthly_modules, monthly_use
from sinks.clickhouse.settlement import EPOCH, SettlementStore
from sinks.clickhouse.usage_queries import SettledReads, WarehouseUnavailable
from streams.settings import Settings
from streams.settlement.settler import Settler

log = logging.getLogger(__name__)
T = TypeVar("T")


class Warehouse(SettledReads):
    """The settled reads (``sinks/clickhouse/usage_queries.py``) plus what needs the settlement code."""

    def __init__(self, settings: Settings, connect: Callable[[], Any] | None = None) -> None:
        def default_connect() -> Any:
            from streams.settings import connect_clickhouse

            return connect_clickhouse(settings)

        super().__init__(connect or default_connect, settings.clickhouse_database)
        self._database = settings.clickhouse_database

    def credit_drawn(self, account: str) -> dict[str, Decimal]:
        """Per ``credit:<grant>`` code, what the account's finalized invoices drew (negative amounts)."""
        with self.client() as client:
            try:
                codes = SettlementStore(client, self._database).earlier_amounts_many([account], EPOCH, FAR_FUTURE)
            except Exception as exc:
                log.warning("cannot read credit draws: %s", exc)
                raise WarehouseUnavailable("cannot read credit balances; retry later") from exc
        return {c: a for c, a in codes.get(account, {}).items() if c.startswith(CREDIT_PREFIX)}

    def settled_until(self) -> datetime | None:
        """Usage up to here is settled (the last settlement run's ``until``); None before the first run."""
        with self.client() as client:
            try:
                run = SettlementStore(client, self._database).last_run()
            except Exception as exc:
                log.warning("cannot read the settlement runs: %s", exc)
                raise WarehouseUnavailable("cannot read how far usage is settled; retry later") from exc
        return None if run is None else run.until

    def stripe_invoice(self, invoice_id: str) -> str | None:
        """The Stripe invoice a finalized invoice was pushed to (``stripe_invoicing``: acknowledged in
        ``stripe_reports``, the Stripe id as the message), or None if it is not mirrored in Stripe."""
        from streams.settlement.stripe_invoicing import INVOICE_METER, invoice_identifier

        return self.acknowledged_report(invoice_identifier(invoice_id), INVOICE_METER)

    def member_usage(
        self, account: str, start: datetime, end: datetime, user_id: str | None = None
    ) -> list[MemberUsageRow]:
        """Usage per member (or of ``user_id``), metric, provider and model in [start, end)
        (``sinks/clickhouse/member_usage.py``)."""
        return member_usage_rows(self, self._database, account, start, end, user_id)

    def monthly_use(self, account: str, start: datetime, end: datetime) -> list[MonthUse]:
        """Settled use per calendar month, member and metric (``sinks/clickhouse/org_analytics.py``)."""
        return monthly_use(self, self._database, account, start, end)

    def monthly_modules(self, account: str, start: datetime, end: datetime) -> list[ModuleUse]:
        """Use per calendar month, module and metric, from the raw events."""
        return monthly_modules(self, self._database, account, start, end)

    def mirror_receivables(self, sessions: sessionmaker[Session]) -> int:
        """``streams.store.receivables.mirror`` into this warehouse; raises ``WarehouseUnavailable``."""
        from sinks.clickhouse.receivables import Receivables
        from streams.store import receivables

        with self.client() as client:
            try:
                return receivables.mirror(sessions, Receivables(client, self._database))
            except Exception as exc:
                raise WarehouseUnavailable(f"cannot mirror receivables: {exc}") from exc

    def upcoming(
        self,
        catalog: Catalog,
        histories: HistoryLookup,
        account: str,
        period: Period,
        addons: Callable[[str, Period], Mapping[str, Decimal]] | None = None,
        credits: Callable[[str], Sequence[CreditGrant]] | None = None,
        members: Callable[[str], Sequence[Membership]] | None = None,
    ) -> dict[str, Any] | None:
        """The draft invoice of ``period`` from the usage settled so far (the finalized one if closed),
        or None when the account has none. ``addons``: the account's add-on quantities of a period;
        ``credits``: its credit grants; ``members``: an organization's membership history."""
        with self.client() as client:
            store = SettlementStore(client, self._database)
            settler = Settler(store, catalog, histories, lambda: [], addons=addons, credits=credits, members=members)
            try:
                return settler.document(account, period)
            except Exception as exc:
                log.warning("cannot compute the invoice: %s", exc)
                raise WarehouseUnavailable("cannot compute the invoice; retry later") from exc

    def forecast(
        self,
        catalog: Catalog,
        histories: HistoryLookup,
        account: str,
        period: Period,
        now: datetime,
        addons: Callable[[str, Period], Mapping[str, Decimal]] | None = None,
        credits: Callable[[str], Sequence[CreditGrant]] | None = None,
        members: Callable[[str], Sequence[Membership]] | None = None,
    ) -> dict[str, Any]:
        """The period-end forecast of ``period`` (docs/forecasting.md) from the usage settled so far."""
        from streams.settlement.forecast import forecast_document

        return self.with_settler(
            catalog,
            histories,
            addons,
            credits,
            members,
            lambda st: forecast_document(st, account, period, now),
            "forecast",
        )

    def with_settler(
        self,
        catalog: Catalog,
        histories: HistoryLookup,
        addons: Callable[[str, Period], Mapping[str, Decimal]] | None,
        credits: Callable[[str], Sequence[CreditGrant]] | None,
        members: Callable[[str], Sequence[Membership]] | None,
        work: Callable[[Settler], T],
        what: str,
    ) -> T:
        """``work`` on a settler over the settled data (forecasts, recommendations): any failure is a 503."""
        with self.client() as client:
            store = SettlementStore(client, self._database)
            settler = Settler(store, catalog, histories, lambda: [], addons=addons, credits=credits, members=members)
            try:
                return work(settler)
            except Exception as exc:
                log.warning("cannot compute the %s: %s", what, exc)
                raise WarehouseUnavailable(f"cannot compute the {what}; retry later") from exc


def by_period(
    days: list[tuple[date, str, str | None, Decimal, int]], anchor: date
) -> list[tuple[Period, str, str | None, Decimal, int]]:
    """Daily rows rolled up into the account's usage periods (storage_gb: the highest reading)."""
    acc: dict[tuple[Period, str, str | None], tuple[Decimal, int]] = {}
    for d, metric, user, qty, events in days:
        p = period_containing(anchor, datetime(d.year, d.month, d.day, tzinfo=UTC))
        q0, e0 = acc.get((p, metric, user), (Decimal(0), 0))
        q = max(q0, qty) if metric == Metric.STORAGE_GB else q0 + qty
        acc[(p, metric, user)] = (q, e0 + events)
    return [
        (p, m, u, q, e)
        for (p, m, u), (q, e) in sorted(acc.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or ""))
    ]


DAY = timedelta(days=1)
FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)
