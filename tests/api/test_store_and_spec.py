"""The store's migrations match its models and apply idempotently; a change is all-or-nothing; the
OpenAPI document served is the one committed and documents every route and the error shape."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select

from streams.api import lifecycle
from streams.api.app import ENDPOINTS, OPENAPI_PATH, build_openapi
from streams.store import orgs
from streams.store import subscription_store as store
from streams.store.db import current_revision, head_revision, make_engine, migrate, sessions
from streams.store.models import Base, OutboxRow, Subscription, SubscriptionVersionRow

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 6, 10, 12, tzinfo=UTC)


def test_migrations_are_idempotent_and_match_the_models(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'b.db'}")
    migrate(engine)
    migrate(engine)
    assert current_revision(engine) == head_revision() is not None
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_a_failed_change_leaves_no_version_and_no_outbox_row(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'b.db'}")
    migrate(engine)
    make = sessions(engine)
    with make.begin() as s:
        org = orgs.create_organization(s, "Acme", "ann", NOW)
        row = Subscription(
            id="msub_0000000000000001",
            organization_id=org.id,
            account_id=org.id,
            account_kind="org",
            anchor=date(2026, 6, 10),
            tier="free",
            interval="month",
            status="active",
            created_at=NOW,
            updated_at=NOW,
        )
        s.add(row)
        s.flush()
        store.save_plan(s, row, lifecycle.Plan("free", "month", "active"), NOW, "create")
    with pytest.raises(RuntimeError), make.begin() as s:
        row2 = store.get(s, "msub_0000000000000001")
        assert row2 is not None
        store.save_plan(s, row2, lifecycle.Plan("standard", "month", "active"), NOW.replace(hour=13), "upgrade")
        raise RuntimeError("crash before the commit")
    with make() as s:
        assert s.scalar(select(func.count()).select_from(SubscriptionVersionRow)) == 1
        assert s.scalar(select(func.count()).select_from(OutboxRow)) == 1
        assert store.get(s, "msub_0000000000000001").tier == "free"  # type: ignore[union-attr]


def test_times_are_aware_utc_and_naive_ones_refused(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'b.db'}")
    migrate(engine)
    with sessions(engine).begin() as s:
        org = orgs.create_organization(s, "Acme", None, NOW)
    with sessions(engine)() as s:
        assert s.get(type(org), org.id).created_at == NOW  # type: ignore[union-attr]
    with pytest.raises(Exception, match="naive"), sessions(engine).begin() as s:
        orgs.create_organization(s, "Naive", None, datetime(2026, 1, 1))


def test_the_committed_openapi_document_is_the_served_one() -> None:
    committed = orjson.loads((ROOT / "docs" / "openapi-billing.json").read_bytes())
    assert committed == build_openapi(), "run: meterline api openapi --output docs/openapi-billing.json"


async def test_openapi_is_served_and_documents_every_route(make_api: Callable[..., Any]) -> None:
    async with make_api() as api:
        served = (await api.client.get(OPENAPI_PATH)).json()
    assert served == build_openapi()
    for ep in ENDPOINTS:
        op = served["paths"][ep.path][ep.method.lower()]
        assert str(ep.status) in op["responses"]
        for status, resp in op["responses"].items():
            if int(status) >= 400:
                assert resp["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
        assert "500" in op["responses"]
    assert set(served["paths"]) == {ep.path for ep in ENDPOINTS}
