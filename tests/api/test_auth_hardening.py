"""Credentials and leaks, played as an attacker would (docs/security.md): invoice lookups authenticate before
ClickHouse and never show driver text; an API key dies with its creator's owner or admin role; JWT issuer,
audience and lifetime; secrets-bearing files 0600; ingest metrics off the public port; invoice ids that
cannot collide."""

from __future__ import annotations

import stat
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from pydantic import SecretStr

from schemas.ids import ID
from streams.api.app import create_app
from streams.api.models import INVOICE_ID_PATTERN
from streams.api.warehouse import Warehouse
from streams.ingest.keys import ApiKeyStore
from streams.settings import Settings
from tests.support.api import JWT_SECRET, api_settings

pytestmark = pytest.mark.integration
ORGS = "/api/billing/organizations"
SECRET_HOST = "ch-internal.corp.example:9440"


class Unreachable:
    """Failure injection: a ClickHouse whose driver error names its host and credentials."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> Any:
        self.calls += 1
        raise ConnectionError(f"Code: 210. Connection refused (clickhouse://admin:hunter2@{SECRET_HOST})")


async def test_invoice_lookups_authenticate_before_clickhouse_and_hide_driver_text(
    make_api: Callable[..., Any],
) -> None:
    async with make_api() as api:
        org = await api.org("ann")
        unreachable = Unreachable()
        api.ctx.warehouse = Warehouse(api.settings, connect=unreachable)
        paths = [
            ("GET", f"/api/billing/invoices/in_{org}_2026-05"),
            ("GET", f"/api/billing/invoices/in_{org}_2026-05.pdf"),
            ("POST", f"/api/billing/invoices/in_{org}_2026-05/pay"),
        ]
        for method, path in paths:
            for headers in ({}, {"authorization": "Bearer mlb_0123456789abcdef_forged"}):
                r = await api.client.request(method, path, headers=headers)
                assert r.status_code == 401, r.text
        assert unreachable.calls == 0  # an unauthenticated flood never reaches ClickHouse
        for method, path in paths:
            r = await api.client.request(method, path, headers=api.as_user("ann", org))
            assert r.status_code == 503, r.text
            assert r.json()["error"]["code"] == "warehouse_unavailable"
            assert "hunter2" not in r.text and "ch-internal" not in r.text and "Code: 210" not in r.text
        r = await api.client.get("/api/billing/invoices", headers=api.as_user("ann", org))
        assert r.status_code == 503 and "ch-internal" not in r.text
        assert unreachable.calls >= 4


async def test_an_api_key_stops_working_when_its_creator_loses_the_role(make_api: Callable[..., Any]) -> None:
    async with make_api() as api:
        org = await api.org("ann", members={"bob": "admin", "cy": "admin"})
        bob_key = await api.key(org, "bob", "admin")
        cy_key = await api.key(org, "cy", "viewer")
        url = f"{ORGS}/{org}"
        # A key made with bob's key depends on bob too (no laundering a key through another key).
        r = await api.client.post(f"{url}/api-keys", json={"name": "child", "role": "member"}, headers=bob_key)
        assert r.status_code == 201, r.text
        child = {"authorization": f"Bearer {r.json()['key']}"}
        assert r.json()["created_by"] == "bob"

        listed = (await api.client.get(f"{url}/api-keys", headers=api.as_user("ann", org))).json()["api_keys"]
        assert sorted((k["name"], k["created_by"]) for k in listed) == [
            ("admin key", "bob"),
            ("child", "bob"),
            ("viewer key", "cy"),
        ]
        for h in (bob_key, child, cy_key):
            assert (await api.client.get(url, headers=h)).status_code == 200

        owner = api.as_user("ann", org)
        r = await api.client.put(f"{url}/members/bob", json={"role": "member"}, headers=owner)
        assert r.status_code == 200, r.text
        for h in (bob_key, child):
            r = await api.client.get(url, headers=h)
            assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
        assert (await api.client.get(url, headers=cy_key)).status_code == 200
        r = await api.client.put(f"{url}/members/bob", json={"role": "admin"}, headers=owner)
        assert (await api.client.get(url, headers=bob_key)).status_code == 200  # while bob is an admin again

        r = await api.client.delete(f"{url}/members/cy", headers=owner)
        assert r.status_code == 204, r.text
        assert (await api.client.get(url, headers=cy_key)).status_code == 401  # gone with cy


def _token(claims: dict[str, Any]) -> dict[str, str]:
    return {"authorization": f"Bearer {jwt.encode(claims, JWT_SECRET, algorithm='HS256')}"}


async def test_jwt_issuer_audience_and_lifetime(make_api: Callable[..., Any]) -> None:
    async with make_api(
        api_jwt_issuer="https://id.example", api_jwt_audience="meterline", api_jwt_max_lifetime_seconds=3600
    ) as api:
        now = int(time.time())
        good = {"sub": "ann", "exp": now + 600, "iat": now, "iss": "https://id.example", "aud": "meterline"}
        r = await api.client.post(f"{ORGS}", json={"name": "Acme"}, headers=_token(good))
        assert r.status_code == 201, r.text
        url = f"{ORGS}/{r.json()['id']}"
        refused = {
            "no issuer": {k: v for k, v in good.items() if k != "iss"},
            "another issuer": {**good, "iss": "https://evil.example"},
            "no audience": {k: v for k, v in good.items() if k != "aud"},
            "another audience": {**good, "aud": "other-service"},
            "a lifetime over the maximum": {**good, "exp": now + 3601},
            "a lifetime over the maximum, no iat": {k: v for k, v in {**good, "exp": now + 7200}.items() if k != "iat"},
            "an exp in 10 years, iat long ago": {**good, "iat": now - 10**8, "exp": now + 10**8},
        }
        for why, claims in refused.items():
            r = await api.client.get(url, headers=_token(claims))
            assert r.status_code == 401, why
            assert r.json()["error"]["code"] == "invalid_token", why
        r = await api.client.get(url, headers=_token({**good, "exp": now + 3500, "iat": now - 60}))
        assert r.status_code == 200, r.text


async def test_without_an_audience_configured_a_token_for_another_audience_is_refused(
    make_api: Callable[..., Any],
) -> None:
    async with make_api() as api:
        org = await api.org("ann")
        now = int(time.time())
        url = f"{ORGS}/{org}"
        r = await api.client.get(url, headers=_token({"sub": "ann", "org": org, "exp": now + 60, "aud": "other"}))
        assert r.status_code == 401
        r = await api.client.get(url, headers=_token({"sub": "ann", "org": org, "exp": now + 2 * 86_400}))
        assert r.status_code == 401  # the default maximum lifetime: a day
        r = await api.client.get(url, headers=_token({"sub": "ann", "org": org, "exp": now + 86_000}))
        assert r.status_code == 200, r.text


async def test_a_login_link_is_made_only_for_an_organization_its_user_is_in(make_api: Callable[..., Any]) -> None:
    """A platform JWT naming an organization its user is not a member of gets no link (404, as everywhere): the
    session would reach nothing, but its sign-in would land in that organization's audit log."""
    async with make_api() as api:
        org = await api.org("olga", members={"vic": "viewer"})
        other = await api.org("mallory", name="Other")
        links = "/api/billing/login-links"
        r = await api.client.post(links, headers=api.as_user("mallory", org))
        assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found")
        assert (await api.client.post(links, headers=api.as_user("vic", other))).status_code == 404
        assert (await api.client.post(links, headers=api.as_user("vic", org))).status_code == 201
        assert (await api.client.post(links, headers=api.as_user("mallory"))).status_code == 201  # her own account
        r = await api.client.get(f"{ORGS}/{org}/audit", headers=api.as_user("olga", org))
        assert "mallory" not in r.text


async def test_sign_in_tokens_count_as_failed_credentials(make_api: Callable[..., Any]) -> None:
    """Guessing sign-in links is throttled per address like any credential: once the failures are spent, every
    sign-in from that address waits (429 with Retry-After), a good link included."""
    async with make_api(auth_failures_per_minute=3) as api:
        org = await api.org("olga")
        good = (await api.client.post("/api/billing/login-links", headers=api.as_user("olga", org))).json()["url"]
        good_token = good.rsplit("token=", 1)[1]
        assert (await api.client.get("/app/login?token=guess-1")).status_code == 401
        assert (await api.client.post("/app/login", data={"token": "guess-2"})).status_code == 401
        assert (await api.client.post("/app/login", data={"token": "guess-3"})).status_code == 401
        for r in (
            await api.client.post("/app/login", data={"token": good_token}),
            await api.client.get(f"/app/login?token={good_token}"),
        ):
            assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1, r.text
        # The same throttle as bearer credentials: the API's answers from that address wait too.
        r = await api.client.get(f"{ORGS}/{org}", headers=api.as_user("olga", org))
        assert r.status_code == 429


async def test_secrets_bearing_files_are_created_0600(stack_settings: Settings, tmp_path: Path) -> None:
    data = tmp_path / "data"
    settings = api_settings(stack_settings, data)
    assert settings.api_database_url is None  # the default store: <data_dir>/billing.db
    app = create_app(settings, follow_quota=False, run_relay=False, mirror_stripe=False)
    app.state.engine.dispose()
    assert stat.S_IMODE((data / "billing.db").stat().st_mode) == 0o600
    # An existing file with a wide mode is narrowed on start.
    (data / "billing.db").chmod(0o644)
    app = create_app(settings, follow_quota=False, run_relay=False, mirror_stripe=False)
    app.state.engine.dispose()
    assert stat.S_IMODE((data / "billing.db").stat().st_mode) == 0o600

    keys = ApiKeyStore(data / "ingest_keys.json")
    keys.create("drive", datetime.now(UTC))
    assert stat.S_IMODE((data / "ingest_keys.json").stat().st_mode) == 0o600


async def test_ingest_metrics_are_not_served_on_the_public_port(stack_settings: Settings, tmp_path: Path) -> None:
    from streams.ingest.server import build_app

    app = build_app(stack_settings.model_copy(update={"data_dir": tmp_path}))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingest") as c:
        assert (await c.get("/metrics")).status_code == 404
        assert (await c.get("/metrics/")).status_code == 404


def test_invoice_ids_never_truncate_into_a_collision() -> None:
    import re

    from rating.periods import period_containing
    from sinks.clickhouse.settlement import invoice_id_of

    period = period_containing(datetime(2026, 5, 1, tzinfo=UTC).date(), datetime(2026, 5, 3, tzinfo=UTC))
    a, b = "u" * 120 + "-alpha", "u" * 120 + "-omega"
    assert ID.fullmatch(a) and ID.fullmatch(b)
    ia, ib = invoice_id_of(a, period), invoice_id_of(b, period)
    assert ia != ib
    assert ia == f"in_{a}_{period.key}" and re.fullmatch(INVOICE_ID_PATTERN, ia)
    longest = invoice_id_of("u" * 128, period)
    assert len(longest) == 139 and re.fullmatch(INVOICE_ID_PATTERN, longest)


def test_settings_name_every_new_limit() -> None:
    s = Settings(api_jwt_secret=SecretStr("x"))
    assert (s.auth_failures_per_minute, s.http_ingest_rate_per_minute, s.api_jwt_max_lifetime_seconds) == (
        30,
        6000,
        86_400,
    )
