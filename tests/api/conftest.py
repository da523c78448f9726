"""Fixtures of the billing API tests: the real app (its store on SQLite and on PostgreSQL, real Kafka with
this run's topic prefix, chDB in its own directory, stripe-mock) driven through httpx's ASGI transport.

Every test that uses ``make_api``, ``store_url`` or ``module_store_url`` runs once per store (ids ``[sqlite]``,
``[postgresql]``); PostgreSQL is Debian's server, started once per session by ``deploy.local.postgres``
(installed with apt-get when missing and run as root), each test (or module, with ``module_store_url``)
getting a fresh database. ``-k 'not postgresql'`` skips it."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import orjson
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette

from deploy.local.postgres import PostgresServer
from sinks.clickhouse.client import connect
from streams.api.app import create_app
from streams.api.context import ApiContext
from streams.api.warehouse import Warehouse
from streams.settings import Settings

JWT_SECRET = "meterline-test-jwt-secret-0123456789abcdef"
WEBHOOK_SECRET = "whsec_meterline_test_secret"
CH_DB = "meterline"


class Clock:
    """A settable clock (aware UTC), so tests cross period ends without waiting."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> datetime:
        self.now += by
        return self.now


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    ts = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


def stripe_event(event_id: str, kind: str, created: int, subscription: str, customer: str = "cus_test") -> bytes:
    return orjson.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": kind,
            "created": created,
            "data": {
                "object": {
                    "id": f"in_{event_id}",
                    "object": "invoice",
                    "subscription": subscription,
                    "customer": customer,
                }
            },
        }
    )


@dataclass
class Api:
    app: Starlette
    client: httpx.AsyncClient
    clock: Clock
    settings: Settings
    published: list[Any] = field(default_factory=list)
    forwarded: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ctx(self) -> ApiContext:
        ctx: ApiContext = self.app.state.ctx
        return ctx

    def token(self, user: str, org: str | None = None, *, ttl: int = 600, secret: str = JWT_SECRET) -> str:
        claims: dict[str, Any] = {"sub": user, "exp": int(time.time()) + ttl}
        if org is not None:
            claims["org"] = org
        return jwt.encode(claims, secret, algorithm="HS256")

    def as_user(self, user: str, org: str | None = None) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token(user, org)}"}

    async def org(self, owner: str, name: str = "Acme", members: dict[str, str] | None = None) -> str:
        r = await self.client.post("/api/billing/organizations", json={"name": name}, headers=self.as_user(owner))
        assert r.status_code == 201, r.text
        org_id: str = r.json()["id"]
        for user, role in (members or {}).items():
            await self.join(org_id, user, role, self.as_user(owner, org_id))
        return org_id

    async def subscribe(self, org: str, owner: str, tier: str = "free") -> None:
        """The organization on ``tier`` since a day before the clock, so it bills its members' usage of now."""
        now = self.clock.now
        self.clock.now = now - timedelta(days=1)
        try:
            r = await self.client.post(
                "/api/billing/subscriptions/create", json={"tier": tier}, headers=self.as_user(owner, org)
            )
            assert r.status_code == 201, r.text
        finally:
            self.clock.now = now

    async def invite(self, org: str, user: str, role: str, by: dict[str, str]) -> str:
        """An invitation of ``user`` to ``org`` by the caller ``by`` (its id)."""
        r = await self.client.post(
            f"/api/billing/organizations/{org}/invitations", json={"user_id": user, "role": role}, headers=by
        )
        assert r.status_code == 201, r.text
        inv_id: str = r.json()["id"]
        return inv_id

    async def join(self, org: str, user: str, role: str, by: dict[str, str]) -> None:
        """Membership as the API grants it: ``by`` invites, ``user`` accepts with their own token."""
        inv_id = await self.invite(org, user, role, by)
        r = await self.client.post(f"/api/billing/invitations/{inv_id}/accept", headers=self.as_user(user))
        assert r.status_code == 200, r.text

    async def key(self, org: str, owner: str, role: str) -> dict[str, str]:
        r = await self.client.post(
            f"/api/billing/organizations/{org}/api-keys",
            json={"name": f"{role} key", "role": role},
            headers=self.as_user(owner, org),
        )
        assert r.status_code == 201, r.text
        return {"authorization": f"Bearer {r.json()['key']}"}

    def link_stripe(self, subscription_id: str, customer: str, stripe_subscription: str | None = None) -> None:
        """Store Stripe ids on a subscription as the platform does (the Stripe mirror): callers cannot."""
        from streams.store import subscription_store

        with self.ctx.sessions.begin() as s:
            row = subscription_store.get(s, subscription_id, for_update=True)
            assert row is not None
            subscription_store.link_stripe(s, row, customer, stripe_subscription, self.clock())

    async def webhook(self, payload: bytes, signature: str | None = None) -> httpx.Response:
        headers = {"content-type": "application/json", "stripe-signature": signature or sign(payload)}
        return await self.client.post("/api/billing/webhooks/stripe", content=payload, headers=headers)


@pytest.fixture(scope="session")
def chdb_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One chDB directory for the session (embedded chDB: one directory per process at a time)."""
    return tmp_path_factory.mktemp("api-chdb")


@pytest.fixture(scope="module")
def warehouse(stack_settings: Settings, chdb_path: Path) -> Iterator[Warehouse]:
    """Closed after each module: embedded chDB opens one directory per process at a time, and the
    other test modules open their own."""
    settings = stack_settings.model_copy(update={"clickhouse_database": CH_DB})
    wh = Warehouse(settings, connect=lambda: connect(f"chdb://{chdb_path}", data_dir=chdb_path.parent))
    yield wh
    wh.close()


def api_settings(stack_settings: Settings, data_dir: Path, **extra: Any) -> Settings:
    return stack_settings.model_copy(
        update={
            "data_dir": data_dir,
            "api_jwt_secret": SecretStr(JWT_SECRET),
            "stripe_webhook_secret": SecretStr(WEBHOOK_SECRET),
            "clickhouse_database": CH_DB,
            **extra,
        }
    )


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
