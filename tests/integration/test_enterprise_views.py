"""The enterprise views of ClickHouse migration 0015 (docs/analytics.md, "Enterprise metrics") on invoices
rated by ``rating/`` with add-ons, a commitment and credit grants, written as settlement writes them; each
```sql block of those sections runs and returns the figures worked out by hand."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import clickhouse_connect
import pytest

from rating.catalog.loader import load_catalog
from rating.catalog.model import Commitment, ContractOverrides
from rating.credits import CreditGrant
from rating.invoice import preview_invoice
from rating.periods import period_containing
from rating.subscriptions import SubscriptionHistory, SubscriptionVersion
from rating.usage import PeriodUsage
from sinks.clickhouse.migrations import migrate
from sinks.clickhouse.settlement import SettlementStore
from tests.integration.test_analytics_docs import BLOCKS

pytestmark = pytest.mark.integration
DB = "ent"
ANCHOR = date(2026, 1, 1)
JUNE = period_containing(ANCHOR, datetime(2026, 6, 15, tzinfo=UTC))
JULY = period_containing(ANCHOR, datetime(2026, 7, 15, tzinfo=UTC))
NO_FEE = {"platform_fee": {"year": Decimal(0)}}  # the contracts waive the annual fee: only what is tested is billed


def _version(account: str, contract: ContractOverrides) -> SubscriptionVersion:
    return SubscriptionVersion(
        account_id=account,
        account_kind="org",
        tier="enterprise",
        anchor=ANCHOR,
        effective_from=datetime(2026, 1, 1, tzinfo=UTC),
        version=1,
        contract=contract,
    )


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """ent-a: June bills advanced analytics for the whole month ($2,000), 10 hours of custom development
    ($1,500) and 20 seats ($1,000): $4,500, of which a $2,500 grant pays $2,500; July: 20 seats, the grant
    spent. ent-b: a $3,000 monthly commitment; June: 40 seats = $2,000 → a $1,000 true-up; July: 70 seats =
    $3,500, over the commitment."""
    c = clickhouse_connect.get_client(dsn=f"chdb://{tmp_path_factory.mktemp('chdb-enterprise')}")
    migrate(c, DB, datetime(2026, 8, 1, tzinfo=UTC))
    catalog = load_catalog().at(JUNE.start)
    a = SubscriptionHistory("ent-a", [_version("ent-a", ContractOverrides.model_validate(NO_FEE))])
    b_contract = ContractOverrides.model_validate({**NO_FEE, "commitment": Commitment(amount=Decimal(3000))})
    b = SubscriptionHistory("ent-b", [_version("ent-b", b_contract)])
    grant = CreditGrant("cg_1", "Prepaid", Decimal(2500), Decimal(2500), datetime(2026, 6, 1, tzinfo=UTC))

    def seats(n: int, **kw: Any) -> PeriodUsage:
        return PeriodUsage(seat_users=frozenset(f"u{i}" for i in range(n)), **kw)

    june_addons = {"advanced_analytics": Decimal(1), "custom_development": Decimal(10)}
    invoices = [
        preview_invoice(a, [seats(20, addons=june_addons)], JUNE, catalog, status="final", credits=[grant]),
        preview_invoice(b, [seats(40)], JUNE, catalog, status="final"),
        preview_invoice(a, [seats(20)], JULY, catalog, status="final", credits=[replace(grant, remaining=Decimal(0))]),
        preview_invoice(b, [seats(70)], JULY, catalog, status="final"),
    ]
    SettlementStore(c, DB).write_invoices([(inv, "enterprise") for inv in invoices], datetime(2026, 8, 2, tzinfo=UTC))
    yield c


def run(client: Any, name: str) -> list[tuple[Any, ...]]:
    sql = dict(BLOCKS)[name]
    return [tuple(r) for r in client.query(re.sub(r"\bmeterline\.", f"{DB}.", sql)).result_rows]


def test_addon_revenue(client: Any) -> None:
    assert run(client, "v_addon_revenue#1") == [
        ("2026-06", "advanced_analytics", 1, Decimal("2000.00")),
        ("2026-06", "custom_development", 1, Decimal("1500.00")),
    ]


def test_commitment_utilisation(client: Any) -> None:
    # ent-b June: $2,000 of $3,000 → 0.6667; July ($3,500) met it: no row.
    assert run(client, "v_commitment_utilisation#1") == [
        ("2026-06", "ent-b", Decimal("2000.00"), Decimal("1000.00"), pytest.approx(0.6667))
    ]


def test_credit_burn(client: Any) -> None:
    assert run(client, "v_credit_burn#1") == [("ent-a", "cg_1", Decimal("2500.00"), [("2026-06", Decimal("2500.00"))])]
