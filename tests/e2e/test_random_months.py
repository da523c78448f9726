"""Seeded random months through the real pipeline (Kafka -> worker -> ClickHouse -> settlement -> invoices),
checked against invoices computed independently from the contract (deploy/demo/independent_invoices.py).

Requires, for every account and period the month touches and every invoice the pipeline finalized: the
invoice equal to the independent expectation line by line and to the cent; zero live-versus-settled
differences (``settlement_diffs``); the analysts' settled ``rated_usage`` lines adding up to the
invoice's usage lines. One seed by default; ``METERLINE_TEST_SEEDS=10`` runs seeds 1-10 (or a list:
``METERLINE_TEST_SEEDS=3,7``). See docs/testing.md.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import clickhouse_connect
import pytest

from deploy.demo.independent_invoices import Expectation, compare, round_cents
from deploy.demo.random_months import SOURCE, RandomMonth, random_month
from rating.catalog.loader import load_catalog
from rating.periods import Period
from rating.subscriptions import SubscriptionVersion
from schemas.sdk import AsyncUsageClient
from sinks.clickhouse.settlement import SettlementStore
from streams.kafka.admin import ensure_topics
from streams.settings import Settings
from streams.settlement.settler import Settler
from streams.subscriptions.publish import publish_subscriptions
from streams.subscriptions.registry import load_registry
from streams.topics import ACCEPTED, EVENTS, RATED, SUBSCRIPTIONS
from tests.support.processes import drained, scrape, start_worker, wait_until

pytestmark = pytest.mark.e2e
ZERO = Decimal(0)


def seeds() -> list[int]:
    text = os.environ.get("METERLINE_TEST_SEEDS", "").strip()
    if not text:
        return [1]
    if "," in text:
        return [int(x) for x in text.split(",") if x.strip()]
    return list(range(1, int(text) + 1))


async def send(s: Settings, month: RandomMonth) -> int:
    await publish_subscriptions(s, [SubscriptionVersion.model_validate(r) for r in month.subscriptions])
    sent = 0
    async with AsyncUsageClient(s.kafka_bootstrap, source=SOURCE, topic=s.topic(EVENTS)) as usage:
        for e in month.sent():
            await usage.record(
                e.metric,
                e.quantity,
                user_id=e.user_id,
                org_id=e.org_id,
                properties=dict(e.properties) or None,
                event_id=e.event_id,
                timestamp=e.ts,
            )
            sent += 1
    return sent


def run_pipeline(s: Settings, month: RandomMonth) -> None:
    asyncio.run(ensure_topics(s))
    # No settlement on the worker's timer: the test settles once everything is stored (a run while events
    # still arrive would finalize periods early and carry the rest as corrections, which is not under test).
    worker, port = start_worker(
        s,
        s.data_dir / "w.log",
        METERLINE_MAX_EVENT_AGE_DAYS="80",
        METERLINE_SETTLE_INTERVAL_SECONDS="86400",
        METERLINE_STRIPE_REPORT="false",
    )
    try:
        sent = asyncio.run(send(s, month))
        topics = (s.topic(ACCEPTED), s.topic(RATED), s.topic(SUBSCRIPTIONS))
        wait_until(
            lambda: scrape(port).get("meterline_events_in_total", 0) >= sent and drained(port, topics),
            600,
            "events stored and rated",
            worker,
        )
        rejected = {k: v for k, v in scrape(port).items() if k.startswith("meterline_events_rejected_total")}
        assert not any(rejected.values()), rejected
    finally:
        assert worker.terminate() == 0, worker.tail()


@pytest.mark.parametrize("seed", seeds())
def test_random_month_invoices_equal_the_independent_expectation(
    seed: int, stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    now = datetime.now(UTC)
    month = random_month(seed, now)
    s = stack_settings.model_copy(
        update={
            "data_dir": tmp_path_factory.mktemp(f"rm{seed}"),
            "topic_prefix": f"{stack_settings.topic_prefix}rm{seed}.",
        }
    )
    run_pipeline(s, month)

    registry = asyncio.run(load_registry(s.kafka_bootstrap, s.topic(SUBSCRIPTIONS)))
    ch = clickhouse_connect.get_client(dsn=f"chdb://{(s.data_dir / 'clickhouse').resolve()}")
    try:
        store = SettlementStore(ch, s.clickhouse_database)
        settler = Settler(
            store,
            load_catalog(),
            registry.history,
            registry.accounts,
            grace=timedelta(0),
            visibility_margin=timedelta(0),
        )
        settler.settle(now, now)  # the worker has stopped: every period that ended is closed now
        db = s.clickhouse_database
        ex = Expectation(month.subscriptions, month.sent())
        problems: list[str] = []

        # Which invoices: every (account, period) with usage, and every invoice the pipeline finalized.
        wanted = {(a, start, end) for a, start, end in ex.usage_periods()}
        for account, start in ch.query(f"SELECT account_id, period_start FROM {db}.invoices FINAL").result_rows:
            at = start.replace(tzinfo=UTC) + timedelta(hours=1)
            wanted.add((account, *ex.period(account, at)))
        final = {(a, p) for a, p in ch.query(f"SELECT account_id, period FROM {db}.invoices FINAL").result_rows}
        for account, start, end in sorted(wanted):
            expected = ex.invoice(account, start, end)
            doc = settler.document(account, Period(start, end))
            for p in compare(expected, doc):
                problems.append(f"{account} {expected.key}: {p}")
            if end <= now and expected.lines and (account, expected.key) not in final:
                problems.append(f"{account} {expected.key}: closed period with charges not finalized")

        # Zero live-versus-settled differences.
        for account, period, metric, live, settled in ch.query(
            f"SELECT account_id, period, metric, toString(live_quantity), toString(settled_quantity) "
            f"FROM {db}.settlement_diffs"
        ).result_rows:
            problems.append(f"{account} {period}: settlement_diffs {metric} live {live} settled {settled}")
        # ... and none in the periods still open either (the same comparison, not recorded until they close).
        for key in sorted({f"{start.year:04d}-{start.month:02d}" for _, start, _ in wanted}):
            accounts = sorted({a for a, start, _ in wanted if f"{start.year:04d}-{start.month:02d}" == key})
            live_totals = store.period_totals_many(accounts, key, "provisional")
            settled_totals = store.period_totals_many(accounts, key, "settled")
            for account in accounts:
                lv, st = live_totals.get(account, {}), settled_totals.get(account, {})
                if {m: q for m, q in lv.items() if q} != {m: q for m, q in st.items() if q}:
                    problems.append(f"{account} {key}: live_vs_settled live {lv} settled {st}")

        # The analysts' settled rated_usage adds up to the invoices' usage lines.
        rated: dict[tuple[str, str, str, str], tuple[Decimal, Decimal, Decimal]] = {}
        for account, period, metric, dim, qty, billable, amount in ch.query(
            f"SELECT account_id, period, metric, dimension, toString(sum(quantity)), toString(sum(billable)), "
            f"toString(sum(amount)) FROM {db}.rated_usage FINAL WHERE kind = 'settled' "
            "AND metric IN ('api_calls', 'premium_feature', 'active_user') "
            "GROUP BY account_id, period, metric, dimension"
        ).result_rows:
            rated[(account, period, metric, dim)] = (Decimal(qty), Decimal(billable), Decimal(amount))
        for account, start, end in sorted(wanted):
            expected = ex.invoice(account, start, end)
            lines = expected.by_code()
            calls = sum(
                (e.quantity for a, e in ex.billed if a == account and e.metric == "api_calls" and start <= e.ts < end),
                ZERO,
            )
            q, b, amt = rated.get((account, expected.key, "api_calls", ""), (ZERO, ZERO, ZERO))
            over = lines.get("api_calls_overage")
            if (q, b, round_cents(amt)) != (calls, over.quantity if over else ZERO, over.amount if over else ZERO):
                problems.append(
                    f"{account} {expected.key}: rated_usage api_calls {q}/{b}/{amt}, invoice {calls} calls, {over}"
                )
            seats = lines.get("seats")
            if seats is not None:  # settled active_user lines add up to the period's seats (docs/analytics.md),
                # or the contract's minimum seats billed above them
                q, _, _ = rated.get((account, expected.key, "active_user", ""), (ZERO, ZERO, ZERO))
                minimum = Decimal(ex.tier_at(account, end - timedelta(microseconds=1), start).get("minimum_seats", 0))
                if max(q, minimum) != seats.quantity:
                    problems.append(f"{account} {expected.key}: rated_usage active_user {q}, invoice seats {seats}")
            for code, ln in lines.items():
                if code.startswith("premium_feature:"):
                    _, b, amt = rated.get((account, expected.key, "premium_feature", code.split(":", 1)[1]), (0, 0, 0))
                    if (b, round_cents(Decimal(amt))) != (ln.quantity, ln.amount):
                        problems.append(f"{account} {expected.key}: rated_usage {code} {b}/{amt}, invoice {ln}")
    finally:
        ch.close()

    kinds = Counter(p.split(": ", 1)[1].split(" ")[0] for p in problems)
    accounts = {p.split(" ")[0] for p in problems}
    plans = Counter(month.plans.get(a, "member") for a in accounts)
    summary = f"seed {seed}: {len(problems)} problems in {len(accounts)} of {len(ex.accounts())} accounts\n"
    summary += f"by kind: {dict(kinds)}\nby plan: {dict(plans)}\n" + "\n".join(problems[:60])
    if problems:
        (s.data_dir / "problems.txt").write_text(
            "\n".join(f"{month.plans.get(p.split()[0], 'member')} {p}" for p in problems)
        )
        summary += f"\nall of them: {s.data_dir / 'problems.txt'}"
    assert not problems, summary
