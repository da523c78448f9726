"""Meter events to stripe-mock through a storm of 429s, 500s and dropped connections: every settled
window is acknowledged exactly once, by its deterministic identifier, none lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import clickhouse_connect
import pytest
import stripe

from sinks.clickhouse.migrations import migrate
from sinks.clickhouse.stripe_ledger import ClickHouseReportLedger
from sinks.retry import RetryPolicy
from sinks.stripe.meter import MemoryLedger, MeterReport, StripeMeterReporter, report_identifier
from streams.settings import Settings
from tests.support.fault_proxy import FaultProxy

pytestmark = pytest.mark.integration
H0 = datetime(2026, 11, 1, tzinfo=UTC)


def reports(n: int) -> list[MeterReport]:
    return [
        MeterReport(
            f"acct-{i % 7}",
            f"cus_{i % 7}",
            "api_calls_overage",
            H0 + timedelta(hours=i),
            H0 + timedelta(hours=i + 1),
            100 + i,
        )
        for i in range(n)
    ]


def client(url: str) -> stripe.StripeClient:
    # max_network_retries=0: the reporter owns retries (and retries 429, which the library does not).
    return stripe.StripeClient("sk_test_123", base_addresses={"api": url}, max_network_retries=0)


def test_identifiers_are_deterministic_and_short() -> None:
    a = report_identifier("org-" + "x" * 300, "api_calls_overage", H0)
    assert a == report_identifier("org-" + "x" * 300, "api_calls_overage", H0) and len(a) <= 100
    assert a != report_identifier("org-" + "x" * 300, "api_calls_overage", H0 + timedelta(hours=1))


def test_storm_every_window_acknowledged_once(stack: Settings) -> None:
    ledger = MemoryLedger()
    with FaultProxy(stack.resolved_stripe_api_base, p429=0.2, p500=0.15, pdrop=0.1, plost=0.1, seed=7) as proxy:
        reporter = StripeMeterReporter(
            client(proxy.url),
            ledger,
            rate_per_second=200,
            policy=RetryPolicy(initial=0.001, maximum=0.01, max_attempts=50),
        )
        batch = reports(60)
        outcomes = [reporter.report(r) for r in batch]
        # A replay of the same settled windows sends nothing: the ledger already holds the acks.
        replay = [reporter.report(r) for r in batch]
    assert outcomes == ["acknowledged"] * 60
    assert replay == ["skipped"] * 60
    ids = {r.identifier for r in batch}
    assert set(proxy.acknowledged) == ids and set(proxy.acknowledged.values()) == {1}
    # Requests lost after delivery were re-sent with the same identifier, which Stripe dedupes.
    assert set(proxy.delivered) == ids
    assert sum(proxy.injected.values()) > 20, proxy.injected
    acked = [a for a in ledger.attempts if a.outcome == "acknowledged"]
    assert sorted(a.identifier for a in acked) == sorted(ids)
    assert {a.http_status for a in ledger.attempts if a.outcome == "retrying"} <= {429, 500, None}


def test_a_refused_report_is_recorded_and_not_retried(stack: Settings) -> None:
    ledger = MemoryLedger()
    with FaultProxy(stack.resolved_stripe_api_base, p429=0, p500=0, pdrop=0, plost=0, p400=1.0, seed=1) as proxy:
        reporter = StripeMeterReporter(client(proxy.url), ledger)
        assert reporter.report(reports(1)[0]) == "failed"
    [attempt] = ledger.attempts  # one attempt: a 400 is not retried, it waits for a fix
    assert (attempt.http_status, attempt.outcome, attempt.message) == (400, "failed", "injected")
    assert not ledger.acknowledged(attempt.identifier)


def test_clickhouse_ledger_survives_a_restart(stack: Settings, tmp_path: Path) -> None:
    """The lasting guard: after a 'restart' (a new ledger on the same table) nothing is re-sent."""
    ch = clickhouse_connect.get_client(dsn=f"chdb://{tmp_path / 'ch'}")
    migrate(ch, "mt", H0)
    batch = reports(5)
    with FaultProxy(stack.resolved_stripe_api_base, p429=0.3, p500=0, pdrop=0, plost=0, seed=3) as proxy:
        first = StripeMeterReporter(
            client(proxy.url),
            ClickHouseReportLedger(ch, "mt"),
            policy=RetryPolicy(initial=0.001, maximum=0.01, max_attempts=50),
        )
        assert [first.report(r) for r in batch] == ["acknowledged"] * 5
        again = ClickHouseReportLedger(ch, "mt")
        assert again.load(H0) == 5
        second = StripeMeterReporter(client(proxy.url), again)
        assert [second.report(r) for r in batch] == ["skipped"] * 5
    assert set(proxy.acknowledged.values()) == {1}
    outcomes = dict(ch.query("SELECT outcome, count() FROM mt.stripe_reports GROUP BY outcome").result_rows)
    assert outcomes["acknowledged"] == 5 and outcomes.get("retrying", 0) == proxy.injected["429"]
    ch.close()
