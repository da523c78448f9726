"""Fixtures of the billing API tests: the real app (its store on SQLite and on PostgreSQL, real Kafka with
this run's topic prefix, chDB in its own directory, stripe-mock) driven through httpx's ASGI transport.

Every test that uses ``make_api``, ``store_url`` or ``module_store_url`` runs once per store (ids ``[sqlite]``,
``[postgresql]``); PostgreSQL is Debian's server, started once per session by ``deploy.local.postgres``
(installed with apt-get when missing and run as root), each test (or module, with ``module_store_url``)
getting a fresh database. ``-k 'not postgresql'`` skips it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine

from deploy.local.postgres import PostgresServer
from streams.api.app import create_app
from streams.api.warehouse import Warehouse
from streams.settings import Settings
from streams.store.db import make_engine, migrate
from tests.support.api import Api, Clock, api_settings, open_warehouse


@pytest.fixture(scope="module")
def chdb_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A chDB directory of the module's own (embedded chDB: one directory per process at a time): how far usage
    is settled is the warehouse's last settlement run, so modules sharing one would see each other's runs and
    pass or fail by the order they run in."""
    return tmp_path_factory.mktemp("api-chdb")


@pytest.fixture(scope="module")
def warehouse(stack_settings: Settings, chdb_path: Path) -> Iterator[Warehouse]:
    """Closed after each module: embedded chDB opens one directory per process at a time, and the
    other test modules open their own."""
    yield from open_warehouse(stack_settings, chdb_path)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL for the session, under /tmp: as root it runs as the ``postgres`` user, which
    cannot enter pytest's 0700 temporary directories."""
    import tempfile

    server = PostgresServer(Path(tempfile.mkdtemp(prefix="meterline-pg-")), port=0)
    server.start(timeout=60)
    yield server
    server.destroy()


STORES = ("sqlite", "postgresql")


@pytest.fixture(params=STORES)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty store: a SQLite file in the test's directory, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'billing.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"t_{uuid.uuid4().hex[:16]}"
    url = server.create_database(name)
    yield url
    server.drop_database(name)


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    """A migrated store on ``store_url`` (each backend), for tests that work on the store directly."""
    e = make_engine(store_url)
    migrate(e)
    yield e
    e.dispose()


@pytest.fixture(scope="module", params=STORES)
def module_store_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``store_url`` shared by a module's tests (one server per store, e.g. the fuzzed one): same ids."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('api-store') / 'billing.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"m_{uuid.uuid4().hex[:16]}"
    url = server.create_database(name)
    yield url
    server.drop_database(name)


@pytest.fixture
def make_api(stack_settings: Settings, warehouse: Warehouse, tmp_path: Path, store_url: str) -> Callable[..., Any]:
    """An async context factory: ``async with make_api(...) as api``; publishing and recorded usage are kept in
    ``api.published`` and ``api.forwarded``, not sent, unless ``kafka=True`` (the relay then publishes to the
    run's real topics, and ``POST /usage/record`` forwards to its ``usage.events``). The Stripe mirror's relay
    runs with the others only when ``stripe=True`` (``stripe_client``: a client of the test's choosing);
    ``api.app.state.stripe_mirror.drain()`` mirrors on demand."""
    import contextlib

    @contextlib.asynccontextmanager
    async def factory(
        *,
        now: datetime | None = None,
        kafka: bool = False,
        follow_quota: bool = False,
        run_relay: bool = False,
        stripe: bool = False,
        stripe_client: Any = None,
        **extra: Any,
    ) -> AsyncIterator[Api]:
        clock = Clock(now or datetime.now(UTC))
        settings = api_settings(stack_settings, tmp_path, api_database_url=SecretStr(store_url), **extra)
        published: list[Any] = []
        forwarded: list[dict[str, Any]] = []

        async def record(versions: list[Any]) -> None:
            published.extend(versions)

        class Recorder:
            async def send(self, events: list[dict[str, Any]]) -> None:
                forwarded.extend(events)

        app = create_app(
            settings,
            clock=clock,
            publish=None if kafka else record,
            warehouse=warehouse,
            follow_quota=follow_quota,
            run_relay=run_relay,
            forwarder=None if kafka else Recorder(),
            mirror_stripe=stripe,
            stripe_client=stripe_client,
        )
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://api") as c:
            yield Api(app, c, clock, settings, published, forwarded)

    return factory
