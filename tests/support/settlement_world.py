"""The base of the settlement integration tests' worlds: a chDB warehouse, an in-memory subscription
registry, and a settler over both that sees every stored row at once (no visibility margin)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from rating.catalog.loader import load_catalog
from rating.subscriptions import SubscriptionVersion
from sinks.clickhouse.settlement import SettlementStore
from streams.settlement.settler import Settler
from streams.subscriptions.registry import SubscriptionRegistry


class SettlementWorld:
    def __init__(self, client: Any, db: str) -> None:
        self.client = client
        self.store = SettlementStore(client, db)
        self.registry = SubscriptionRegistry()
        self.settler = Settler(
            self.store,
            load_catalog(),
            self.registry.history,
            self.registry.accounts,
            visibility_margin=timedelta(0),
        )
        self.seq = 0

    def subscribe(
        self,
        account: str,
        tier: str,
        at: datetime,
        kind: Literal["user", "org"] = "user",
        version: int = 1,
        anchor: date = date(2026, 9, 1),
        customer: str | None = None,
        interval: Literal["month", "year"] = "month",
        status: Literal["active", "canceled"] = "active",
    ) -> SubscriptionVersion:
        """Put a subscription version into the registry settlement reads; returns it."""
        v = SubscriptionVersion(
            account_id=account,
            account_kind=kind,
            tier=tier,
            status=status,
            interval=interval,
            anchor=anchor,
            effective_from=at,
            version=version,
            stripe_customer_id=customer,
        )
        self.registry.apply([v])
        return v

    def settle(self, until: datetime) -> Any:
        return self.settler.settle(until, datetime.now(UTC))

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.client.query(sql).result_rows]
