"""The billing store behaves the same on SQLite and PostgreSQL: migrations apply (and revert) and match the
models, a change is all-or-nothing, times come back aware UTC, concurrent changes of one subscription never
duplicate or lose a version; the test PostgreSQL never runs as root."""

from __future__ import annotations

import os
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.exc import IntegrityError

from deploy.local.postgres import PostgresServer
from rating import lifecycle
from streams.store import orgs
from streams.store import subscription_store as store
from streams.store.db import current_revision, downgrade, head_revision, make_engine, migrate, sessions
from streams.store.models import Base, OutboxRow, Subscription, SubscriptionVersionRow

NOW = datetime(2026, 6, 10, 12, tzinfo=UTC)
SUB = "msub_0000000000000001"


def _subscription(e: Engine) -> None:
    with sessions(e).begin() as s:
        org = orgs.create_organization(s, "Acme", "ann", NOW)
        row = Subscription(
            id=SUB,
            organization_id=org.id,
            account_id=org.id,
            account_kind="org",
            anchor=date(2026, 6, 10),
            tier="free",
            interval="month",
            status="active",
            contract={"rate_limit_per_minute": 600},
            created_at=NOW,
            updated_at=NOW,
        )
        s.add(row)
        s.flush()
        store.save_plan(s, row, lifecycle.Plan("free", "month", "active"), NOW, "create")


def test_migrations_apply_idempotently_match_the_models_and_revert(engine: Engine) -> None:
    migrate(engine)
    assert current_revision(engine) == head_revision() is not None
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate(engine)
    assert current_revision(engine) == head_revision()


def test_a_failed_change_leaves_no_version_and_no_outbox_row(engine: Engine) -> None:
    _subscription(engine)
    make = sessions(engine)
    with pytest.raises(RuntimeError), make.begin() as s:
        row = store.get(s, SUB, for_update=True)
        assert row is not None
        store.save_plan(s, row, lifecycle.Plan("standard", "month", "active"), NOW + timedelta(hours=1), "upgrade")
        raise RuntimeError("crash before the commit")
    with make() as s:
        assert s.scalar(select(func.count()).select_from(SubscriptionVersionRow)) == 1
        assert s.scalar(select(func.count()).select_from(OutboxRow)) == 1
        row = store.get(s, SUB)
        assert row is not None and row.tier == "free" and row.contract == {"rate_limit_per_minute": 600}


def test_times_are_aware_utc_and_naive_ones_refused(engine: Engine) -> None:
    with sessions(engine).begin() as s:
        org = orgs.create_organization(s, "Acme", None, NOW.astimezone(UTC))
    with sessions(engine)() as s:
        got = s.get(type(org), org.id)
        assert got is not None and got.created_at == NOW and got.created_at.utcoffset() == timedelta(0)
    with pytest.raises(Exception, match="naive"), sessions(engine).begin() as s:
        orgs.create_organization(s, "Naive", None, datetime(2026, 1, 1))


def test_concurrent_changes_of_one_subscription_keep_one_history(engine: Engine) -> None:
    """Two changes at once: on PostgreSQL the row lock (``for_update``) orders them and both commit; SQLite
    has no row locks, so the later one may fail on the (account, version) key, which the API answers 409.
    Either way no version is duplicated and every version has its outbox row."""
    _subscription(engine)
    make = sessions(engine)
    first_locked = threading.Event()
    outcomes: dict[str, str] = {}

    def change(name: str, tier: str, at: datetime, hold: bool) -> None:
        try:
            with make.begin() as s:
                if not hold:
                    first_locked.wait(5)
                row = store.get(s, SUB, for_update=True)
                assert row is not None
                if hold:
                    first_locked.set()
                    threading.Event().wait(0.3)  # keep the lock while the other tries
                store.save_plan(s, row, lifecycle.Plan(tier, "month", "active"), at, f"upgrade-{name}")
            outcomes[name] = "committed"
        except IntegrityError:
            outcomes[name] = "conflict"

    threads = [
        threading.Thread(target=change, args=("a", "standard", NOW + timedelta(hours=1), True)),
        threading.Thread(target=change, args=("b", "pro", NOW + timedelta(hours=2), False)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert set(outcomes) == {"a", "b"} and "committed" in outcomes.values()
    if engine.dialect.name == "postgresql":
        assert outcomes == {"a": "committed", "b": "committed"}
    with make() as s:
        numbers = list(s.scalars(select(SubscriptionVersionRow.version)))
        assert len(numbers) == len(set(numbers)) > 1
        assert s.scalar(select(func.count()).select_from(OutboxRow)) == len(numbers)
        row = store.get(s, SUB)
        assert row is not None  # the history agrees with the plan the last commit left
        later = NOW + timedelta(hours=2)
        assert (
            lifecycle.versions_to_write(
                store.history(s, row.account_id), store.identity_of(row), store.plan_of(row), later
            )
            == []
        )


def test_the_test_postgresql_runs_unprivileged(postgres_server: PostgresServer) -> None:
    pid = int(postgres_server.pid_file.read_text())
    uid = int(
        next(ln for ln in Path(f"/proc/{pid}/status").read_text().splitlines() if ln.startswith("Uid:")).split()[1]
    )
    assert uid != 0
    if os.geteuid() == 0:
        assert (postgres_server.data.stat().st_uid, postgres_server.run_dir.stat().st_uid) == (uid, uid)
    assert postgres_server.url().startswith("postgresql+psycopg://meterline:")


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg"])
def test_a_postgresql_url_without_a_driver_uses_psycopg(scheme: str) -> None:
    engine = make_engine(f"{scheme}://u:p%40ss@127.0.0.1:1/billing")
    assert (engine.dialect.name, engine.dialect.driver, engine.url.password) == ("postgresql", "psycopg", "p@ss")
