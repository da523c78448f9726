"""Receivables mirrored from the billing store (SQLite and PostgreSQL) to ClickHouse (chDB), and the
docs/analytics.md "Receivables" queries run on them with figures worked out by hand."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import clickhouse_connect
import orjson
import pytest
from sqlalchemy import Engine

from rating.receivables import PaymentTerms
from sinks.clickhouse.migrations import migrate as migrate_ch
from sinks.clickhouse.receivables import Receivables
from streams.store import receivables as rcv
from streams.store.db import make_engine, migrate, sessions

DOC = Path(__file__).resolve().parents[2] / "docs" / "analytics.md"
DB = "rcv"
AS_OF = "2026-09-15"
AUTO, NET30, NET60 = PaymentTerms(), PaymentTerms("send_invoice", 30), PaymentTerms("send_invoice", 60)


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T10:00:00").replace(tzinfo=UTC)


@pytest.fixture(scope="module")
def ch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    client = clickhouse_connect.get_client(dsn=f"chdb://{tmp_path_factory.mktemp('chdb-receivables')}")
    migrate_ch(client, DB, at("2026-09-15"))
    yield client
    client.close()


def _world(engine: Engine) -> None:
    """As of 2026-09-15, in cents:
    a/A  10,000 net 30 issued 07-01, due 07-31, 4,000 paid: 6,000 owed, 46 days late (31-60)
    a/B   5,000 charged automatically 09-01, due 09-01: 5,000 owed, 14 days late (1-30)
    b/C  20,000 net 60 issued 08-20, due 10-19: current
    b/D   3,000 issued 06-01, paid 06-02
    b/E   7,000 issued 05-01, void; reissued as b/F 05-02, written off (uncollectible)
    Outstanding: b 20,000 (1 invoice), a 11,000 (2). Sales of the 90 days to 09-15 (after 06-17): A + B + C
    = 35,000; DSO = 31,000 / 35,000 x 90 = 79.71 -> 79.7."""
    with sessions(engine).begin() as s:
        rcv.finalize(s, "E", "b", 7_000, "usd", AUTO, at("2026-05-01"))
        rcv.reissue(s, "E", "F", 7_000, at("2026-05-02"))
        rcv.mark_uncollectible(s, "F", at("2026-08-01"))
        rcv.finalize(s, "D", "b", 3_000, "usd", AUTO, at("2026-06-01"))
        rcv.pay(s, "D", 3_000, at("2026-06-02"))
        rcv.finalize(s, "A", "a", 10_000, "usd", NET30, at("2026-07-01"))
        rcv.pay(s, "A", 4_000, at("2026-08-10"))
        rcv.finalize(s, "C", "b", 20_000, "usd", NET60, at("2026-08-20"))
        rcv.finalize(s, "B", "a", 5_000, "usd", AUTO, at("2026-09-01"))


def _blocks() -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8").split("\n## Receivables\n", 1)[1].split("\n## ", 1)[0]  # its section only
    out, heading = {}, ""
    for m in re.finditer(r"^### ([^\n]+)$|^```sql\n(.*?)^```$", text, re.M | re.S):
        if m.group(1):
            heading = m.group(1)
        else:
            out[heading] = m.group(2).replace("meterline.", f"{DB}.").replace("today()", f"toDate('{AS_OF}')")
    return out


def test_the_store_is_mirrored_once_and_the_documented_queries_add_up(engine: Engine, ch: Any) -> None:
    for table in ("receivable_history", "receivables"):
        ch.command(f"TRUNCATE TABLE {DB}.{table}")
    _world(engine)
    target = Receivables(ch, DB)
    make = sessions(engine)
    with make() as s:
        changes = len(rcv.changes_after(s, 0))
    assert changes == 10  # 6 finalized, E voided for its reissue, F written off, 2 payments (D, A)
    assert rcv.mirror(make, target) == 10
    assert rcv.mirror(make, target) == 10  # the lookback copies them again: still one row each
    ch.command(f"OPTIMIZE TABLE {DB}.receivable_history FINAL")
    assert ch.query(f"SELECT count() FROM {DB}.receivable_history").result_rows == [(10,)]
    latest = ch.query(f"SELECT invoice_id, status, amount_paid FROM {DB}.receivables FINAL ORDER BY invoice_id")
    assert latest.result_rows == [
        ("A", "open", 4_000),
        ("B", "open", 0),
        ("C", "open", 0),
        ("D", "paid", 3_000),
        ("E", "void", 0),
        ("F", "uncollectible", 0),
    ]
    q = _blocks()
    assert set(q) == {"Receivables outstanding", "Days sales outstanding", "Overdue by age bucket"}
    assert ch.query(q["Receivables outstanding"]).result_rows == [("b", "usd", 1, 20_000), ("a", "usd", 2, 11_000)]
    [(currency, outstanding, sales, dso)] = ch.query(q["Days sales outstanding"]).result_rows
    assert (currency, outstanding, sales, dso) == ("usd", 31_000, 35_000, pytest.approx(79.7))
    assert ch.query(q["Overdue by age bucket"]).result_rows == [
        ("current", 1, 20_000),
        ("1-30", 1, 5_000),
        ("31-60", 1, 6_000),
    ]


def test_the_cli_mirrors_the_store(tmp_path: Path) -> None:
    """``meterline invoice mirror-receivables`` on its own data directory: the store's SQLite file and chDB."""
    data = tmp_path / "data"
    engine = make_engine(f"sqlite:///{data / 'billing.db'}")
    migrate(engine)
    with sessions(engine).begin() as s:
        rcv.finalize(s, "A", "a", 10_000, "usd", NET30, at("2026-07-01"))
        rcv.pay(s, "A", 2_500, at("2026-07-02"))
    engine.dispose()
    env = {
        **os.environ,
        "METERLINE_DATA_DIR": str(data),
        "METERLINE_CLICKHOUSE_DSN": f"chdb://{tmp_path / 'ch'}",
        "METERLINE_CLICKHOUSE_DATABASE": "cli",
    }
    env.pop("METERLINE_API_DATABASE_URL", None)
    cli = [sys.executable, "-m", "streams.cli.main", "invoice", "mirror-receivables", "--json"]
    out = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert orjson.loads(out.stdout) == {"mirrored": 2}
    # Read back in another process: embedded chDB opens one directory per process (this one has the fixture's).
    read = (
        "import clickhouse_connect, sys; c = clickhouse_connect.get_client(dsn=sys.argv[1]); "
        "print(c.query('SELECT number, status, amount_paid FROM cli.receivables FINAL').result_rows)"
    )
    got = subprocess.run(
        [sys.executable, "-c", read, f"chdb://{tmp_path / 'ch'}"], capture_output=True, text=True, timeout=120
    )
    assert got.stdout.strip() == "[('ML-000001', 'open', 2500)]", got.stderr


def test_the_operator_records_a_wire_transfer_through_the_cli(tmp_path: Path) -> None:
    """A net-30 invoice of 1,250.00 paid by two wire transfers recorded with ``meterline invoice record-payment``."""
    data = tmp_path / "data"
    engine = make_engine(f"sqlite:///{data / 'billing.db'}")
    migrate(engine)
    with sessions(engine).begin() as s:
        rcv.finalize(s, "in_acme_2026-06", "acme", 125_000, "usd", NET30, at("2026-07-01"))
    env = {**os.environ, "METERLINE_DATA_DIR": str(data)}
    env.pop("METERLINE_API_DATABASE_URL", None)

    def record(amount: str, ref: str) -> subprocess.CompletedProcess[str]:
        cli = [sys.executable, "-m", "streams.cli.main", "invoice", "record-payment", "--invoice", "in_acme_2026-06"]
        cli += ["--amount", amount, "--reference", ref, "--json"]
        return subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120, check=False)

    first = record("1000.00", "BANK-1")
    assert first.returncode == 0, first.stderr
    got = orjson.loads(first.stdout)
    assert (got["number"], got["status"], got["amount_paid"], got["amount_remaining"]) == (
        "ML-000001",
        "open",
        100_000,
        25_000,
    )
    too_much = record("250.01", "BANK-2")
    assert too_much.returncode != 0 and "exceeds" in too_much.stderr
    rest = record("250.00", "BANK-2")
    assert orjson.loads(rest.stdout)["status"] == "paid"
    with sessions(engine)() as s:
        assert [(p.method, p.amount, p.reference, p.source) for p in rcv.payments(s, "in_acme_2026-06")] == [
            ("wire", 100_000, "BANK-1", "operator"),
            ("wire", 25_000, "BANK-2", "operator"),
        ]
    engine.dispose()


def test_the_operator_corrects_an_invoice_with_credit_notes_through_the_cli(tmp_path: Path) -> None:
    """1,250.00 invoiced, 1,000.00 paid by wire; a correction of 300.00: 250.00 off what is owed, 50.00 refunded."""
    data = tmp_path / "data"
    engine = make_engine(f"sqlite:///{data / 'billing.db'}")
    migrate(engine)
    with sessions(engine).begin() as s:
        rcv.finalize(s, "in_acme_2026-06", "acme", 125_000, "usd", NET30, at("2026-07-01"))
        rcv.pay(s, "in_acme_2026-06", 100_000, at("2026-07-02"))
    env = {**os.environ, "METERLINE_DATA_DIR": str(data)}
    env.pop("METERLINE_API_DATABASE_URL", None)
    cli = [sys.executable, "-m", "streams.cli.main", "invoice", "credit-note", "--invoice", "in_acme_2026-06"]
    cli += ["--amount", "300.00", "--reason", "order_change", "--memo", "seats over-counted", "--json"]
    done = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    got = orjson.loads(done.stdout)
    assert (got["credit_note"], got["credited"], got["refunded"], got["status"]) == (
        "ML-CN-000001",
        25_000,
        5_000,
        "paid",
    )
    assert (got["amount_due"], got["amount_paid"]) == (95_000, 95_000)
    with sessions(engine)() as s:
        [note] = rcv.credit_notes(s, "in_acme_2026-06")
        assert (note.memo, note.created_by) == ("seats over-counted", "operator:operator")
        assert [h.reason for h in rcv.history(s, "in_acme_2026-06")][-1] == "credit_note:ML-CN-000001"
    engine.dispose()


def test_recording_a_payment_of_an_unknown_invoice_is_refused(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "METERLINE_DATA_DIR": str(tmp_path / "data"),
        "METERLINE_CLICKHOUSE_DSN": f"chdb://{tmp_path / 'ch'}",
        "METERLINE_CLICKHOUSE_DATABASE": "cli",
    }
    env.pop("METERLINE_API_DATABASE_URL", None)
    cli = [sys.executable, "-m", "streams.cli.main", "invoice", "mirror-receivables"]  # creates the tables
    assert subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120, check=False).returncode == 0
    cli = [sys.executable, "-m", "streams.cli.main", "invoice", "record-payment", "--invoice", "in_acme_2026-06"]
    out = subprocess.run([*cli, "--amount", "1"], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode != 0 and "no finalized invoice in_acme_2026-06" in out.stderr


def test_the_operator_voids_or_writes_off_through_the_cli(tmp_path: Path) -> None:
    data = tmp_path / "data"
    engine = make_engine(f"sqlite:///{data / 'billing.db'}")
    migrate(engine)
    with sessions(engine).begin() as s:
        rcv.finalize(s, "in_a_2026-06", "a", 1_000, "usd", NET30, at("2026-07-01"))
        rcv.finalize(s, "in_b_2026-06", "b", 2_000, "usd", NET30, at("2026-07-01"))
        rcv.pay(s, "in_b_2026-06", 500, at("2026-07-02"))
    engine.dispose()
    env = {**os.environ, "METERLINE_DATA_DIR": str(data)}
    env.pop("METERLINE_API_DATABASE_URL", None)

    def run(action: str, invoice: str) -> subprocess.CompletedProcess[str]:
        cli = [sys.executable, "-m", "streams.cli.main", "invoice", action, "--invoice", invoice, "--json"]
        return subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120, check=False)

    assert orjson.loads(run("void", "in_a_2026-06").stdout)["status"] == "void"
    refused = run("void", "in_b_2026-06")  # money came in: refund first
    assert refused.returncode != 0 and "cannot void" in refused.stderr
    assert orjson.loads(run("mark-uncollectible", "in_b_2026-06").stdout)["status"] == "uncollectible"
    assert run("mark-uncollectible", "in_a_2026-06").returncode != 0  # void is final
