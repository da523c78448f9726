"""The analysts' ClickHouse model against the real engine (chDB): the views of migration 0010 and
every ```sql block of docs/analytics.md run on a small settled world, and the figures they return
are the ones worked out by hand below (docs/architecture.md §5 catalog, §7 settlement)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import clickhouse_connect
import orjson
import pytest

from sinks.clickhouse.migrations import migrate
from sinks.clickhouse.timefmt import ch_datetime
from streams.subscriptions.registry import encode_subscription
from streams.warehouse.rows import provisional_rows, subscription_rows
from tests.support.settlement_world import SettlementWorld

pytestmark = pytest.mark.integration
DB = "an"
DOC = Path(__file__).resolve().parents[2] / "docs" / "analytics.md"
SEPT = datetime(2026, 9, 1, tzinfo=UTC)
ANCHOR = date(2026, 9, 1)
VIEWS = (
    "v_usage_daily",
    "v_revenue_by_tier",
    "v_mrr",
    "v_churn",
    "v_ai_margin",
    "v_seats",
    # issue 15 (0015_enterprise_views.sql; their figures: tests/integration/test_enterprise_views.py)
    "v_addon_revenue",
    "v_credit_burn",
    "v_commitment_utilisation",
    "v_feature_adoption",
    # issue 15 (0017_retention_views.sql; their figures: tests/integration/test_retention_views.py)
    "v_acv",
    "v_churn_by_tier",
    "v_nrr",
    "v_clv",
    # issue 18 (0019_forecasts.sql; written after settlement: tests/api/test_budget_after_settlement.py)
    "v_forecast_accuracy",
    # issue 14 (0016_invoice_reissues.sql: settled and reissued invoice documents together)
    "v_invoice_documents",
)
# The settlement runs of the world: September closes (and is finalized) on the first, a late event
# of September is picked up by the second and carried into October as a correction.
RUN_1 = datetime(2026, 10, 3, tzinfo=UTC)
RUN_2 = datetime(2026, 10, 4, 10, tzinfo=UTC)
LATE_STORED = datetime(2026, 10, 4, 9, tzinfo=UTC)
DEC = datetime(2026, 12, 1, tzinfo=UTC)


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def D(text: str | int) -> Decimal:
    return Decimal(text)


class World(SettlementWorld):
    """Events, rejected events, subscriptions (in the registry settlement reads and in ClickHouse, as
    the warehouse agent stores them) and live provisional lines, then settlement."""

    def __init__(self, client: Any) -> None:
        super().__init__(client, DB)

    def subscribe(
        self,
        account: str,
        tier: str,
        at: datetime,
        *,
        kind: Literal["user", "org"] = "user",
        interval: Literal["month", "year"] = "month",
        status: Literal["active", "canceled"] = "active",
        version: int = 1,
    ) -> None:
        v = super().subscribe(
            account,
            tier,
            at,
            kind=kind,
            version=version,
            anchor=ANCHOR,
            customer=f"cus_{account}",
            interval=interval,
            status=status,
        )
        record = encode_subscription(v, self.registry.all_versions(account))
        self.insert("subscriptions", subscription_rows(record, offset=self.seq))

    def events(
        self,
        account: str,
        metric: str,
        at: datetime,
        quantities: list[int],
        *,
        user: str = "",
        stored_at: datetime | None = None,
        **props: str,
    ) -> list[bytes]:
        """Events of ``account`` (an org when ``user`` is given: the user acting in it), one second apart,
        stored 5 s after their time unless ``stored_at`` says otherwise."""
        rows = []
        for i, q in enumerate(quantities):
            self.seq += 1
            ts = at + timedelta(seconds=i)
            rows.append(
                orjson.dumps(
                    {
                        "event_id": f"{account}-{metric}-{self.seq}",
                        "account_id": account,
                        "user_id": user or account,
                        "org_id": account if user else None,
                        "metric": metric,
                        "quantity": str(q),
                        "ts_ms": _ms(ts),
                        "properties": props,
                        "source": "test",
                        "stored_at": ch_datetime(stored_at or ts + timedelta(seconds=5)),
                    }
                )
            )
        self.insert("events", rows)
        return rows

    def ai(self, account: str, at: datetime, n: int, provider: str, model: str, tin: int, tout: int, **kw: Any) -> None:
        self.events(
            account,
            "ai_requests",
            at,
            [1] * n,
            provider=provider,
            model=model,
            input_tokens=str(tin),
            output_tokens=str(tout),
            **kw,
        )

    def insert(self, table: str, rows: list[bytes]) -> None:
        if rows:
            self.client.raw_insert(f"{DB}.{table}", None, insert_block=b"\n".join(rows) + b"\n", fmt="JSONEachRow")


def _rejected(offset: int, reason: str, raw: str, event_id: str = "") -> bytes:
    return orjson.dumps(
        {
            "rejected_at": ch_datetime(SEPT + timedelta(days=4, seconds=offset)),
            "reason": reason,
            "detail": f"{reason} (test)",
            "source_topic": "usage.events",
            "source_partition": 0,
            "source_offset": offset,
            "batch_index": 0,
            "event_id": event_id,
            "raw": raw,
        }
    )


def build(w: World) -> None:
    def day(d: int, h: int = 0, m: int = 0) -> datetime:
        """September ``d``, ``h``:``m`` UTC."""
        return SEPT + timedelta(days=d - 1, hours=h, minutes=m)

    # free: two users on the free tier.
    w.subscribe("free-a", "free", SEPT)
    w.subscribe("free-b", "free", SEPT)
    w.events("free-a", "api_calls", day(4, 12), [1000] * 12)  # 12,000: 2,000 over the hard cap, never billed
    w.ai("free-a", day(4, 13), 10, "openai", "gpt-4o-mini", 2000, 500)  # not entitled: cost, no revenue
    w.events("free-b", "api_calls", day(4, 12), [1000] * 3)
    # standard: monthly (std-a), yearly (std-b), monthly canceled on Sept 20 (std-c), yearly canceled
    # on Dec 1 (std-d), and up-y: free until Sept 16, then standard yearly (a prorated annual base fee).
    w.subscribe("std-a", "standard", SEPT)
    w.subscribe("std-b", "standard", SEPT, interval="year")
    w.subscribe("std-c", "standard", SEPT)
    w.subscribe("std-c", "standard", day(20), status="canceled", version=2)
    w.subscribe("std-d", "standard", SEPT, interval="year")
    w.subscribe("std-d", "standard", DEC, interval="year", status="canceled", version=2)
    w.subscribe("up-y", "free", SEPT)
    w.subscribe("up-y", "standard", day(16), interval="year", version=2)
    calls = w.events("std-a", "api_calls", day(5, 10), [1000] * 130)
    w.insert("events", calls[:30])  # a replayed batch: counted once
    w.ai("std-a", day(6, 14), 100, "openai", "gpt-4o", 1200, 300)
    w.ai("std-a", day(6, 15), 20, "local", "llama-3", 500, 500)
    w.events("std-a", "premium_feature", day(7, 9), [1] * 4, feature="deep_research")
    w.events("std-a", "storage_gb", day(1), [60])  # 60 GB all month: 10 GB-month over the 50 included
    w.events("std-b", "api_calls", day(8, 10), [1000] * 95)  # 95 % of the included 100,000
    w.ai("std-b", day(8, 11), 50, "anthropic", "claude-sonnet-4", 1000, 200)
    w.events("std-c", "api_calls", day(5, 8), [1000])
    w.events("up-y", "api_calls", day(10, 8), [1000] * 2)
    w.events("up-y", "api_calls", day(20, 8), [1000] * 5)
    # enterprise: ent-a (yearly) with three active users, ent-b (monthly interval; the platform fee
    # is annual all the same) with two users and 1,000,500 API calls.
    w.subscribe("ent-a", "enterprise", SEPT, kind="org", interval="year")
    w.subscribe("ent-b", "enterprise", SEPT, kind="org")
    w.events("ent-a", "active_user", day(3, 9), [1], user="ea-1")
    w.ai("ent-a", day(3, 10), 30, "anthropic", "claude-haiku", 10_000, 1_000, user="ea-1")
    w.events("ent-a", "api_calls", day(3, 11), [1000] * 10, user="ea-1")
    w.events("ent-a", "active_user", day(3, 9), [1], user="ea-2")
    w.events("ent-a", "active_user", day(4, 9), [1], user="ea-2")
    w.ai("ent-a", day(4, 10), 40, "openai", "gpt-4o", 1200, 300, user="ea-2")
    w.events("ent-a", "api_calls", day(4, 11), [1000] * 5, user="ea-2")
    w.events("ent-a", "active_user", day(10, 9), [1], user="ea-3")
    w.events("ent-a", "api_calls", day(10, 11), [1000] * 5, user="ea-3")
    w.events("ent-a", "premium_feature", day(10, 12), [1] * 10, user="ea-3", feature="document_analysis")
    w.events("ent-b", "active_user", day(2, 9), [1], user="eb-1")
    w.events("ent-b", "active_user", day(2, 9, 30), [1], user="eb-2")
    w.events("ent-b", "api_calls", day(2, 10), [1_000_500], user="eb-1")
    # The live stage's alerts: std-b crossed 80 % of its API calls, std-a 80 % and 100 %.
    w.insert(
        "alerts",
        [
            orjson.dumps(
                {
                    "account_id": acc,
                    "metric": "api_calls",
                    "period": "2026-09",
                    "kind": kind,
                    "threshold": threshold,
                    "used": threshold,
                    "at": ch_datetime(day(d, 10)),
                }
            )
            for acc, kind, threshold, d in [
                ("std-b", "quota_80", "80000", 8),
                ("std-a", "quota_80", "80000", 5),
                ("std-a", "quota_100", "100000", 5),
            ]
        ],
    )
    # Dead letters: two unknown metrics from chat (one replayed), a negative quantity from the gateway,
    # a record that is not JSON at all.
    bad = '{"event_id": "bad-%d", "metric": "tokens", "source": "chat", "user_id": "u-1", "quantity": 1}'
    w.insert(
        "rejected_events",
        [
            _rejected(10, "unknown_metric", bad % 10, "bad-10"),
            _rejected(11, "unknown_metric", bad % 11, "bad-11"),
            _rejected(10, "unknown_metric", bad % 10, "bad-10"),
            _rejected(
                12, "negative_quantity", '{"event_id": "neg-1", "quantity": -5, "source": "api-gateway"}', "neg-1"
            ),
            _rejected(13, "not_json", "{not json"),
        ],
    )
    # The live view of std-a for September, briefly high after a crash replay: 131,000 calls.
    live = [
        ("api_calls", "100000", "100000", "100000", "0", "0"),
        ("api_calls", "31000", "131000", "0", "31000", "310"),
        ("ai_requests", "120", "120", "120", "0", "0"),
        ("premium_feature", "4", "4", "0", "4", "2"),
    ]
    record = b"\n".join(
        orjson.dumps(
            {
                "account_id": "std-a",
                "period": "2026-09",
                "period_start_ms": _ms(SEPT),
                "metric": metric,
                "rated_at": (SEPT + timedelta(days=10)).isoformat(),
                "tier": "standard",
                "quantity": q,
                "period_to_date": ptd,
                "included": inc,
                "billable": bill,
                "unit_price": "0.01" if metric == "api_calls" else "0",
                "amount": amount,
                "catalog_version": "2026-01",
                "subscription_version": 1,
            }
        )
        for metric, q, ptd, inc, bill, amount in live
    )
    w.insert("rated_usage", provisional_rows(record, partition=0, offset=7))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    client = clickhouse_connect.get_client(dsn=f"chdb://{tmp_path_factory.mktemp('chdb-analytics')}")
    migrate(client, DB, RUN_1)
    w = World(client)
    build(w)
    first = w.settler.settle(RUN_1, RUN_1)
    assert len(first.finalized) == 9 and first.differences == 1
    # 500 more calls of Sept 15 arrive on Oct 4, after September was finalized.
    w.events("std-a", "api_calls", SEPT + timedelta(days=14, hours=12), [500], stored_at=LATE_STORED)
    second = w.settler.settle(RUN_2, RUN_2)
    assert second.corrections == 1
    yield w
    client.close()


# -- docs/analytics.md ---------------------------------------------------------------------------------


def _block_name(heading: str) -> str:
    """``Q3`` for "### 3. Accounts near …", ``v_mrr`` for "### `v_mrr` — …", else the heading."""
    if m := re.match(r"(\d+)\.", heading):
        return f"Q{m.group(1)}"
    if m := re.match(r"`(\w+)`", heading):
        return m.group(1)
    return heading


def sql_blocks(text: str) -> list[tuple[str, str]]:
    """Every ```sql block of the page as (``<section>#<n>``, SQL), n counting blocks in the section."""
    heading, counts, out = "", dict[str, int](), []
    body: list[str] | None = None
    for line in text.splitlines():
        if body is None:
            if line.startswith("#"):
                heading = _block_name(line.lstrip("#").strip())
            elif line.strip() == "```sql":
                body = []
        elif line.strip() == "```":
            counts[heading] = counts.get(heading, 0) + 1
            out.append((f"{heading}#{counts[heading]}", "\n".join(body)))
            body = None
        else:
            body.append(line)
    assert body is None, "unclosed ```sql block"
    return out


BLOCKS = sql_blocks(DOC.read_text(encoding="utf-8"))


def run_doc_sql(w: World, sql: str) -> list[tuple[Any, ...]]:
    return w.rows(re.sub(r"\bmeterline\.", f"{DB}.", sql))


def share(amount: str, months: int = 12) -> Decimal:
    """An annual fee's monthly share as the view computes it: Decimal(38, 6), cut toward zero."""
    return (D(amount) / months).quantize(D("0.000001"), rounding="ROUND_DOWN")


SEPT_D = date(2026, 9, 1)
# What the world's September invoices come to, by hand (docs/architecture.md §5 catalog):
TOTALS = {
    "free-a": D("0"),  # 12,000 calls: the 2,000 over the hard cap are flagged, AI not entitled
    "free-b": D("0"),
    "std-a": D("352.99"),  # 49.99 + 30,000 x 0.01 + 4 x 0.50 deep research + (60 - 50) GB x 0.10
    "std-b": D("499.90"),  # yearly base fee in the anniversary period; 95,000 calls included
    "std-c": D("49.99"),  # monthly fee in advance; the cancellation on Sept 20 credits nothing
    "std-d": D("499.90"),
    "up-y": D("479.36"),  # 499.90 x 350/365 of the contract year left on Sept 16 = 479.356…
    "ent-a": D("10150.50"),  # 10,000 platform fee + 3 seats x 50 + 10 x 0.05 document analysis
    "ent-b": D("10105.00"),  # 10,000 + 2 seats x 50 + 500 calls over 1,000,000 x 0.01
}
# AI cost by hand: gpt-4o 1,200 in + 300 out = 0.006; claude-sonnet-4 1,000 + 200 = 0.006;
# claude-haiku 10,000 + 1,000 = 0.012; gpt-4o-mini 2,000 + 500 = 0.0006; local: 0 (per request).
AI_COST = {"free-a": D("0.006"), "std-a": D("0.6"), "std-b": D("0.3"), "ent-a": D("0.6")}
MRR_SEPT = {
    ("ent-a", "enterprise"): share("10000") + D(150),
    ("ent-b", "enterprise"): share("10000") + D(100),
    ("std-a", "standard"): D("49.99"),
    ("std-b", "standard"): share("499.90"),
    ("std-c", "standard"): D("49.99"),
    ("std-d", "standard"): share("499.90"),
    ("up-y", "standard"): share("479.36"),
}
ARR_SEPT = {
    "enterprise": D(20000) + D(250 * 12),
    "standard": D("49.99") * 24 + D("499.90") * 2 + D("479.36"),
}

EXPECTED: dict[str, list[tuple[Any, ...]]] = {
    "Reading ReplacingMergeTree tables exactly#1": [(270, D(1_269_000))],
    "Reading ReplacingMergeTree tables exactly#2": [(270, D(1_269_000))],
    "v_churn#1": [(SEPT_D, 1, ["std-c"]), (date(2026, 12, 1), 1, ["std-d"])],
    "v_ai_margin#1": [("free-a", "2026-09", D(0), D("0.006"), D("-0.006"))],
    "v_seats#1": [("ent-a", "2026-09", "enterprise", 3), ("ent-b", "2026-09", "enterprise", 2)],
    # Accounts with usage in September: free-a, free-b, std-a, std-b, std-c, up-y, ent-a, ent-b (8; std-d has
    # none). Premium features: std-a deep_research, ent-a document_analysis; AI: gpt-4o (std-a, ent-a),
    # claude-haiku (ent-a), claude-sonnet-4 (std-b), gpt-4o-mini (free-a, not entitled but used), llama-3 (std-a).
    "v_feature_adoption#1": [
        (SEPT_D, "ai_module", "openai/gpt-4o", 2, 8, 0.25),
        (SEPT_D, "ai_module", "anthropic/claude-haiku", 1, 8, 0.125),
        (SEPT_D, "ai_module", "anthropic/claude-sonnet-4", 1, 8, 0.125),
        (SEPT_D, "ai_module", "local/llama-3", 1, 8, 0.125),
        (SEPT_D, "ai_module", "openai/gpt-4o-mini", 1, 8, 0.125),
        (SEPT_D, "premium_feature", "deep_research", 1, 8, 0.125),
        (SEPT_D, "premium_feature", "document_analysis", 1, 8, 0.125),
    ],
    "Q1#1": [
        ("std-a", "standard", D(300), D(1), D(301), D("352.99")),
        ("ent-b", "enterprise", D(5), D(0), D(5), D("10105.00")),
    ],
    "Q2#1": [
        ("ent-a", date(2026, 9, 3), "ea-1", "active_user", D(1), 1),
        ("ent-a", date(2026, 9, 3), "ea-1", "ai_requests", D(30), 30),
        ("ent-a", date(2026, 9, 3), "ea-1", "api_calls", D(10000), 10),
        ("ent-a", date(2026, 9, 3), "ea-2", "active_user", D(1), 1),
        ("ent-a", date(2026, 9, 4), "ea-2", "active_user", D(1), 1),
        ("ent-a", date(2026, 9, 4), "ea-2", "ai_requests", D(40), 40),
        ("ent-a", date(2026, 9, 4), "ea-2", "api_calls", D(5000), 5),
        ("ent-a", date(2026, 9, 10), "ea-3", "active_user", D(1), 1),
        ("ent-a", date(2026, 9, 10), "ea-3", "api_calls", D(5000), 5),
        ("ent-a", date(2026, 9, 10), "ea-3", "premium_feature", D(10), 10),
        ("ent-b", date(2026, 9, 2), "eb-1", "active_user", D(1), 1),
        ("ent-b", date(2026, 9, 2), "eb-1", "api_calls", D(1_000_500), 1),
        ("ent-b", date(2026, 9, 2), "eb-2", "active_user", D(1), 1),
    ],
    "Q3#1": [
        # the late 500 calls count: the settled period is re-rated when they arrive
        ("std-a", "2026-09", "standard", D(130_500), 100_000, pytest.approx(1.305), "over"),
        ("free-a", "2026-09", "free", D(12_000), 10_000, pytest.approx(1.2), "over"),
        ("ent-b", "2026-09", "enterprise", D(1_000_500), 1_000_000, pytest.approx(1.0005), "over"),
        ("std-b", "2026-09", "standard", D(95_000), 100_000, pytest.approx(0.95), "near"),
    ],
    "Q3#2": [("std-b", "2026-09", "api_calls", D(80_000), D(80_000))],
    "Q4#1": [
        (SEPT_D, "openai", "gpt-4o", D(140), 168_000, 42_000, D("0.84"), 2),
        (SEPT_D, "anthropic", "claude-haiku", D(30), 300_000, 30_000, D("0.36"), 1),
        (SEPT_D, "anthropic", "claude-sonnet-4", D(50), 50_000, 10_000, D("0.30"), 1),
        (SEPT_D, "openai", "gpt-4o-mini", D(10), 20_000, 5_000, D("0.006"), 1),
        (SEPT_D, "local", "llama-3", D(20), 10_000, 10_000, D(0), 1),
    ],
    "Q6#1": [
        (
            SEPT_D,
            tier,
            sum(1 for _, t in MRR_SEPT if t == tier),
            sum(v for (_, t), v in MRR_SEPT.items() if t == tier),
            ARR_SEPT[tier],
        )
        for tier in ("enterprise", "standard")
    ],
    "Q7#1": [
        (date(2026, 12, 1), "std-d", "user", "standard", "year", datetime(2026, 12, 1), share("499.90")),
        (SEPT_D, "std-c", "user", "standard", "month", datetime(2026, 9, 20), D("49.99")),
    ],
    # 500 calls of Sept 15 12:00 stored on Oct 4 09:00: 452 h after their hour ended at 13:00
    "Q8#1": [("std-a", SEPT_D, 1, D(500), 452)],
    "Q8#2": [("std-a", "2026-09", "api_calls_overage", "2026-10", D(5), "open", datetime(2026, 10, 4, 10))],
    "Q10#1": [("std-a", "2026-09", "api_calls", D(131_000), D(130_000), D(1000), datetime(2026, 10, 3))],
    "Q10#2": [("std-a", "2026-09", "api_calls", D(131_000), D(130_500), D(500))],
}


@pytest.mark.parametrize(("name", "sql"), BLOCKS, ids=[n for n, _ in BLOCKS])
def test_every_sql_block_of_the_docs_runs(world: World, name: str, sql: str) -> None:
    rows = run_doc_sql(world, sql)
    if name in EXPECTED:
        assert rows == EXPECTED[name]


def test_the_docs_cover_ten_questions_and_every_expectation_exists() -> None:
    names = {n for n, _ in BLOCKS}
    assert set(EXPECTED) <= names
    assert {f"Q{i}#1" for i in range(1, 11)} <= names
    assert {f"{v}#1" for v in VIEWS} <= names
    text = DOC.read_text(encoding="utf-8")
    for table in (
        "events",
        "rejected_events",
        "alerts",
        "stripe_reports",
        "subscriptions",
        "usage_hourly",
        "rated_usage",
        "settlement_runs",
        "settlement_diffs",
        "invoices",
        "invoice_lines",
        "invoice_corrections",
    ):
        assert f"### `{table}`" in text


def test_every_column_is_documented(world: World) -> None:
    text = DOC.read_text(encoding="utf-8")
    cols = world.rows(
        f"SELECT table, name FROM system.columns WHERE database = '{DB}' AND table NOT LIKE 'v\\_%' ORDER BY table"
    )
    missing = [(t, c) for t, c in cols if f"`{c}`" not in text]
    assert missing == []


def test_unreadable_records_and_replays_in_the_dlq(world: World) -> None:
    rows = run_doc_sql(world, dict(BLOCKS)["Q9#1"])
    assert [r[:3] for r in rows] == [
        ("chat", "unknown_metric", 2),  # the replayed rejection counts once
        ("(unreadable)", "not_json", 1),
        ("api-gateway", "negative_quantity", 1),
    ]


def test_margin_per_customer(world: World) -> None:
    rows = run_doc_sql(world, dict(BLOCKS)["Q5#1"])
    assert [r[0] for r in rows] == ["free-a", "free-b", "std-c", "std-a", "up-y", "std-b", "std-d", "ent-b", "ent-a"]
    for account, _tier, revenue, ai_cost, margin, ratio, _ in rows:
        assert revenue == TOTALS[account]
        assert ai_cost == AI_COST.get(account, 0)
        assert margin == revenue - ai_cost
        assert ratio == (None if not revenue else pytest.approx(float(margin / revenue), abs=1e-4))


def test_exact_reads_agree(world: World) -> None:
    without_final = run_doc_sql(world, dict(BLOCKS)["Reading ReplacingMergeTree tables exactly#3"])
    with_final = world.rows(
        f"SELECT account_id, metric, sum(quantity) FROM {DB}.usage_hourly FINAL "
        "GROUP BY account_id, metric ORDER BY account_id, metric"
    )
    assert without_final == with_final and len(with_final) > 10


# -- the views -----------------------------------------------------------------------------------------


def test_migration_creates_the_six_views(world: World) -> None:
    views = world.rows(f"SELECT name FROM system.tables WHERE database = '{DB}' AND engine = 'View' ORDER BY name")
    assert [v[0] for v in views] == sorted(VIEWS)
    assert migrate(world.client, DB, RUN_2) == []  # already applied: nothing to do


def test_revenue_by_tier_adds_up_to_the_invoices(world: World) -> None:
    invoices = dict(world.rows(f"SELECT account_id, total FROM {DB}.invoices FINAL"))
    assert invoices == TOTALS
    rows = world.rows(
        "SELECT period, tier, invoices, accounts, revenue, fees, seats, overage, premium_features, addons, "
        f"corrections FROM {DB}.v_revenue_by_tier ORDER BY tier"
    )
    assert sum(r[4] for r in rows) == sum(TOTALS.values()) == D("22137.64")
    for r in rows:
        assert r[4] == sum(r[5:])  # the line groups add up to the revenue
    assert rows == [
        ("2026-09", "enterprise", 2, 2, D("20255.50"), D(20000), D(250), D(5), D("0.50"), D(0), D(0)),
        # std-c canceled during September: its invoice's tier is the default tier at the period end
        ("2026-09", "free", 3, 3, D("49.99"), D("49.99"), D(0), D(0), D(0), D(0), D(0)),
        ("2026-09", "standard", 4, 4, D("1832.15"), D("1529.15"), D(0), D(301), D(2), D(0), D(0)),
    ]


def test_usage_daily_matches_settled_usage(world: World) -> None:
    daily = world.rows(
        f"SELECT account_id, metric, sum(quantity), sum(events), sum(ai_cost) FROM {DB}.v_usage_daily "
        "WHERE metric != 'storage_gb' GROUP BY account_id, metric ORDER BY account_id, metric"
    )
    hourly = world.rows(
        f"SELECT account_id, metric, sum(quantity), sum(events), sum(ai_cost) FROM {DB}.usage_hourly FINAL "
        "WHERE metric != 'storage_gb' GROUP BY account_id, metric ORDER BY account_id, metric"
    )
    assert daily == hourly
    assert ("std-a", "api_calls", D(130_500), 131, D(0)) in daily  # the replayed 30 counted once
    # storage is a gauge: the day's reading, not a sum of hours
    assert world.rows(f"SELECT day, quantity FROM {DB}.v_usage_daily WHERE metric = 'storage_gb'") == [(SEPT_D, D(60))]


def test_mrr_from_finalized_fees(world: World) -> None:
    sept = world.rows(f"SELECT account_id, tier, mrr FROM {DB}.v_mrr WHERE month = '2026-09-01' ORDER BY account_id")
    assert {(a, t): m for a, t, m in sept} == MRR_SEPT
    months = dict(world.rows(f"SELECT account_id, count() FROM {DB}.v_mrr GROUP BY account_id"))
    # monthly plans: only the finalized September; yearly fees: the 12 months they pay for, except
    # std-d's, which stop when the subscription is canceled on Dec 1
    assert months == {"std-a": 1, "std-c": 1, "std-b": 12, "up-y": 12, "ent-a": 12, "ent-b": 12, "std-d": 3}
    ent = world.rows(
        f"SELECT month, monthly_fees, annual_fees, seats, mrr, arr FROM {DB}.v_mrr WHERE account_id = 'ent-a' "
        "ORDER BY month LIMIT 2"
    )
    assert ent == [
        (SEPT_D, D(0), share("10000"), D(150), share("10000") + 150, D(10000 + 1800)),
        (date(2026, 10, 1), D(0), share("10000"), D(0), share("10000"), D(10000)),
    ]


def test_churn(world: World) -> None:
    assert world.rows(f"SELECT * FROM {DB}.v_churn ORDER BY canceled_at") == [
        (SEPT_D, "std-c", "user", datetime(2026, 9, 20), "standard", "month", "active"),
        (date(2026, 12, 1), "std-d", "user", datetime(2026, 12, 1), "standard", "year", "active"),
    ]


def test_ai_margin_is_revenue_minus_ai_cost(world: World) -> None:
    rows = world.rows(f"SELECT account_id, revenue, ai_cost, margin, ai_requests FROM {DB}.v_ai_margin")
    assert {r[0]: (r[1], r[2]) for r in rows} == {a: (t, AI_COST.get(a, D(0))) for a, t in TOTALS.items()}
    assert all(m == rev - cost for _, rev, cost, m, _ in rows)
    assert {r[0]: r[4] for r in rows if r[4]} == {"free-a": 10, "std-a": 120, "std-b": 50, "ent-a": 70}


def test_seats_match_the_invoice_seat_lines(world: World) -> None:
    seats = world.rows(f"SELECT account_id, period, seats FROM {DB}.v_seats ORDER BY account_id")
    lines = world.rows(
        f"SELECT account_id, period, toUInt64(quantity) FROM {DB}.invoice_lines FINAL WHERE code = 'seats' "
        "ORDER BY account_id"
    )
    assert seats == lines == [("ent-a", "2026-09", 3), ("ent-b", "2026-09", 2)]
