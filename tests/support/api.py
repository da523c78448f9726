"""Helpers of the billing API tests: the driven app (``Api``), a settable clock, Stripe webhook payloads
and signatures, and the settings the tests run the API with. The fixtures that build them are in
tests/api/conftest.py."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import orjson
from pydantic import SecretStr
from starlette.applications import Starlette

from streams.api.context import ApiContext
from streams.api.warehouse import Warehouse
from streams.settings import Settings

JWT_SECRET = "meterline-test-jwt-secret-0123456789abcdef"
WEBHOOK_SECRET = "whsec_meterline_test_secret"
CH_DB = "meterline"


def open_warehouse(stack_settings: Settings, chdb_path: Path) -> Iterator[Warehouse]:
    """The API's warehouse on an embedded chDB directory of its own, closed afterwards (a fixture's body)."""
    from sinks.clickhouse.client import connect

    settings = stack_settings.model_copy(update={"clickhouse_database": CH_DB})
    wh = Warehouse(settings, connect=lambda: connect(f"chdb://{chdb_path}"))
    try:
        yield wh
    finally:
        wh.close()


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

    def as_operator(self, claim: object = True, org: str | None = None) -> dict[str, str]:
        """A platform operator's JWT (claim ``meterline_operator``; docs/security.md, "Platform operators")."""
        claims: dict[str, Any] = {"sub": "ops-1", "exp": int(time.time()) + 600, "meterline_operator": claim}
        if org is not None:
            claims["org"] = org
        return {"authorization": f"Bearer {jwt.encode(claims, JWT_SECRET, algorithm='HS256')}"}

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

    async def sign_in(self, user: str, org: str | None = None) -> str:
        """Sign ``self.client`` in to the web app as ``user`` (a one-time link, exchanged by ``POST /app/login``):
        the client then carries the session cookie; returns the session's CSRF token (send it as X-CSRF-Token)."""
        from streams.api.web_session import CSRF_COOKIE, link_ttl
        from streams.store import web_sessions

        with self.ctx.sessions.begin() as s:
            link = web_sessions.create_link(s, user, org, web_sessions.OPERATOR, self.clock(), link_ttl(self.settings))
        r = await self.client.post("/app/login", data={"token": link.token})
        assert r.status_code == 303, r.text
        csrf: str = self.client.cookies[CSRF_COOKIE]
        return csrf

    async def webhook(self, payload: bytes, signature: str | None = None) -> httpx.Response:
        headers = {"content-type": "application/json", "stripe-signature": signature or sign(payload)}
        return await self.client.post("/api/billing/webhooks/stripe", content=payload, headers=headers)


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
