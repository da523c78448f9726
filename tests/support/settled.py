"""Settled data for the API tests: events written straight into ClickHouse as the warehouse sink stores
them, and a settler that reads subscriptions from the API's own store."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson

from rating.catalog.loader import load_catalog
from rating.tax import TaxTable
from sinks.clickhouse.settlement import SettlementStore
from streams.settlement.settler import Settler
from streams.settlement.taxes import store_taxes
from streams.store import subscription_store as store
from streams.store.addons import store_addons
from streams.store.credits import store_credit_alerts, store_credits
from tests.support.api import CH_DB, Api


def event_block(
    account: str,
    user: str,
    org: str | None,
    metric: str,
    at: datetime,
    quantities: Sequence[int],
    *,
    id_prefix: str,
    properties: dict[str, str] | None = None,
) -> bytes:
    """``events`` rows (JSONEachRow), one a second from ``at``, with ids ``{id_prefix}-{at}-{i}`` (and
    ``properties``, e.g. an AI request's ``provider`` and ``model``)."""
    rows = [
        orjson.dumps(
            {
                "event_id": f"{id_prefix}-{at.isoformat()}-{i}",
                "account_id": account,
                "user_id": user,
                "org_id": org,
                "metric": metric,
                "quantity": str(q),
                "ts_ms": int(at.timestamp() * 1000) + i * 1000,
                "properties": properties or {},
                "source": "test",
            }
        )
        for i, q in enumerate(quantities)
    ]
    return b"\n".join(rows) + b"\n"


def api_settler(
    api: Api, client: Any, accounts: Callable[[], list[str]], *, taxes: Any = None, tax_table: TaxTable | None = None
) -> Settler:
    """A settler over ``client``'s warehouse whose subscription histories, add-ons and credit grants come from
    the API's store (and ``taxes``, the tax rates of an account's invoice, docs/invoices.md; or ``tax_table``'s
    rates for the buyers' billing addresses in the store, as the worker applies them)."""

    def histories(account: str) -> Any:
        with api.ctx.sessions() as s:
            h = store.history(s, account)
        return h if h.versions else None

    if tax_table is not None:
        taxes = store_taxes(tax_table, api.ctx.sessions, histories)

    return Settler(
        SettlementStore(client, CH_DB),
        load_catalog(),
        histories,
        accounts,
        visibility_margin=timedelta(0),
        taxes=taxes,
        addons=store_addons(api.ctx.sessions),
        credits=store_credits(api.ctx.sessions),
        on_credit_low=store_credit_alerts(api.ctx.sessions),
    )
