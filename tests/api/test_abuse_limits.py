"""Abuse limits, played as an attacker would (docs/security.md): the catalog tier's API calls a minute on
``POST /usage/record`` (shared by every credential of an account, shown in the entitlement answer), the
failed-credential throttle per client address on the billing API and on HTTP ingest, and per-key ingest
limits. Every refusal is a 429 with ``Retry-After`` in the error shape. The clock is the test's, so no
bucket refills unless the test moves it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from rating.catalog.loader import load_catalog
from schemas.decode import DecodeLimits
from streams.ingest.http import create_ingest_app
from streams.ingest.keys import ApiKeyStore

pytestmark = pytest.mark.integration
R = "/api/billing/usage/record"
ENT = "/api/billing/entitlements"
DEFAULT_CATALOG = Path(__file__).resolve().parents[2] / "rating" / "catalog" / "default.toml"


def event(user: str, org: str | None, i: int) -> dict[str, Any]:
    return {
        "event_id": f"lim-{user}-{i}",
        "timestamp": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
        "user_id": user,
        "org_id": org,
        "metric": "api_calls",
        "quantity": "1",
    }


def assert_429(r: httpx.Response, retry_after: str) -> None:
    assert r.status_code == 429, r.text
    assert r.json()["error"]["code"] == "rate_limited" and r.json()["error"]["message"]
    assert r.headers["retry-after"] == retry_after


def test_the_catalog_tiers_are_the_documented_limits() -> None:
    tiers = load_catalog(None).at(datetime(2026, 6, 1, tzinfo=UTC)).tiers
    assert {name: t.rate_limit_per_minute for name, t in tiers.items()} == {
        "free": 60,
        "standard": 600,
        "enterprise": 6000,
    }


async def test_recording_is_limited_to_the_tiers_calls_a_minute_under_concurrency(
    make_api: Callable[..., Any],
) -> None:
    async with make_api() as api:
        org = await api.org("ann", members={"bob": "member"})
        other = await api.org("zed", name="Other")
        await api.subscribe(org, "ann")
        await api.subscribe(other, "zed")
        key = await api.key(org, "ann", "admin")

        async def post(i: int, headers: dict[str, str]) -> httpx.Response:
            return await api.client.post(R, json=event("bob", org, i), headers=headers)

        # 100 at once from one organization on the free tier (60 a minute): exactly 60 pass.
        answers = await asyncio.gather(*(post(i, key) for i in range(100)))
        statuses = [r.status_code for r in answers]
        assert statuses.count(200) == 60 and statuses.count(429) == 40
        assert_429(next(r for r in answers if r.status_code == 429), "1")
        assert len(api.forwarded) == 60

        # The budget is the account's: a new key or the owner's token does not reset it.
        fresh = await api.key(org, "ann", "admin")
        assert_429(await post(100, fresh), "1")
        assert_429(await post(101, api.as_user("ann", org)), "1")
        # Another organization has its own budget.
        r = await api.client.post(R, json=event("zed", other, 0), headers=api.as_user("zed", other))
        assert r.status_code == 200, r.text

        # The entitlement answer shows the state (no call consumed by asking).
        for _ in range(2):
            r = await api.client.get(f"{ENT}/{org}/api_calls", headers=key)
            assert r.status_code == 200, r.text
            assert r.json()["rate_limit"] == {"limit_per_minute": 60, "remaining": 0, "reset_seconds": 60}

        # 60 a minute refills one a second: 15 s later, 15 more calls and not one more.
        api.clock.advance(timedelta(seconds=15))
        answers = [await post(200 + i, key) for i in range(16)]
        assert [r.status_code for r in answers] == [200] * 15 + [429]
        r = await api.client.get(f"{ENT}/{org}/api_calls", headers=key)
        assert r.json()["rate_limit"] == {"limit_per_minute": 60, "remaining": 0, "reset_seconds": 60}


async def test_the_limit_follows_the_accounts_tier_as_the_catalog_says(
    make_api: Callable[..., Any], tmp_path: Path
) -> None:
    catalog = tmp_path / "catalog.toml"
    text = DEFAULT_CATALOG.read_text()
    assert text.count("rate_limit_per_minute = 60\n") == 1 and text.count("rate_limit_per_minute = 600\n") == 1
    catalog.write_text(
        text.replace("rate_limit_per_minute = 600\n", "rate_limit_per_minute = 5\n").replace(
            "rate_limit_per_minute = 60\n", "rate_limit_per_minute = 3\n"
        )
    )
    async with make_api(catalog_path=catalog) as api:
        org = await api.org("ann", members={"bob": "member"})
        h = api.as_user("ann", org)
        r = await api.client.get(f"{ENT}/{org}/api_calls", headers=h)
        assert r.json()["tier"] == "free" and r.json()["rate_limit"]["limit_per_minute"] == 3
        codes = [(await api.client.post(R, json=event("ann", org, i), headers=h)).status_code for i in range(4)]
        assert codes == [200, 200, 200, 429]
        r = await api.client.post("/api/billing/subscriptions/create", json={"tier": "standard"}, headers=h)
        assert r.status_code == 201, r.text
        # Upgraded: 5 a minute, the share spent (all of it) carried over; 12 s brings one call back.
        r = await api.client.get(f"{ENT}/{org}/api_calls", headers=h)
        assert r.json()["tier"] == "standard"
        assert r.json()["rate_limit"] == {"limit_per_minute": 5, "remaining": 0, "reset_seconds": 60}
        assert_429(await api.client.post(R, json=event("ann", org, 10), headers=h), "12")
        api.clock.advance(timedelta(seconds=12))
        assert (await api.client.post(R, json=event("ann", org, 11), headers=h)).status_code == 200


async def test_failed_credentials_are_throttled_per_client_address(make_api: Callable[..., Any]) -> None:
    async with make_api(auth_failures_per_minute=5) as api:
        org = await api.org("ann")
        good = await api.key(org, "ann", "admin")
        url = f"/api/billing/organizations/{org}"
        bad = [
            {"authorization": "Bearer mlb_0123456789abcdef_guessed"},
            {"authorization": f"Bearer {api.token('ann', org, secret='not-the-secret-' * 4)}"},
        ]
        for i in range(5):
            r = await api.client.get(url, headers=bad[i % 2])
            assert r.status_code == 401, r.text
        # The sixth guess, and even a good key from that address, wait: 5 a minute is one every 12 s.
        assert_429(await api.client.get(url, headers=bad[0]), "12")
        assert_429(await api.client.get(url, headers=good), "12")
        # Another address is not held back by this one's guesses.
        other = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=api.app, client=("203.0.113.9", 4000)), base_url="http://api"
        )
        async with other:
            assert (await other.get(url, headers=good)).status_code == 200
        api.clock.advance(timedelta(seconds=12))
        assert (await api.client.get(url, headers=good)).status_code == 200
        # Forged Stripe signatures count as failed credentials too.
        for _ in range(1):
            r = await api.webhook(b'{"id": "evt_x"}', signature="t=1,v1=00")
            assert r.status_code == 400
        r = await api.webhook(b'{"id": "evt_x"}', signature="t=1,v1=00")
        assert_429(r, "12")


async def _ingest_client(
    tmp_path: Path, now: list[datetime], rate: int, failures: int
) -> tuple[httpx.AsyncClient, ApiKeyStore, list[dict[str, Any]]]:
    keys = ApiKeyStore(tmp_path / "ingest_keys.json")
    sent: list[dict[str, Any]] = []

    class Recorder:
        async def send(self, events: list[dict[str, Any]]) -> None:
            sent.extend(events)

    app = create_ingest_app(
        keys, Recorder(), DecodeLimits(), clock=lambda: now[0], rate_per_minute=rate, failures_per_minute=failures
    )
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingest")
    return client, keys, sent


async def test_ingest_keys_have_their_own_limits(tmp_path: Path) -> None:
    now = [datetime.now(UTC)]
    client, keys, sent = await _ingest_client(tmp_path, now, rate=4, failures=0)
    _, slow = keys.create("drive", now[0], rate_per_minute=2)
    _, default = keys.create("chat", now[0])
    batch, unlimited = keys.create("batch", now[0], rate_per_minute=0)

    async def post(key: str, i: int) -> httpx.Response:
        ev = {**event("u-1", None, i), "event_id": f"ing-{key[-6:]}-{i}"}
        return await client.post("/v1/events", json=ev, headers={"authorization": f"Bearer {key}"})

    async with client:
        assert [(await post(slow, i)).status_code for i in range(3)] == [200, 200, 429]
        assert_429(await post(slow, 3), "30")  # 2 a minute: one every 30 s
        answers = await asyncio.gather(*(post(default, i) for i in range(10)))
        assert sorted(r.status_code for r in answers) == [200] * 4 + [429] * 6  # the server's default: 4
        assert [(await post(unlimited, i)).status_code for i in range(20)] == [200] * 20
        assert len(sent) == 2 + 4 + 20
        now[0] += timedelta(seconds=30)
        assert (await post(slow, 4)).status_code == 200
        # An operator lowers a key's limit at once (the key store is re-read on change).
        keys.set_rate(batch.key_id, 1)
        assert [(await post(unlimited, 100 + i)).status_code for i in range(2)] == [200, 429]


async def test_ingest_throttles_guessed_keys_per_address(tmp_path: Path) -> None:
    now = [datetime.now(UTC)]
    client, keys, _ = await _ingest_client(tmp_path, now, rate=0, failures=3)
    _, good = keys.create("drive", now[0])
    ev = event("u-1", None, 0)
    async with client:
        for guess in ("mlk_000000000000_nope", "mlk_x_y", "not-a-key"):
            r = await client.post("/v1/events", json=ev, headers={"authorization": f"Bearer {guess}"})
            assert r.status_code == 401
        assert_429(await client.post("/v1/events", json=ev, headers={"x-api-key": "mlk_1_2"}), "20")
        assert_429(await client.post("/v1/events", json=ev, headers={"x-api-key": good}), "20")
        now[0] += timedelta(seconds=20)
        assert (await client.post("/v1/events", json=ev, headers={"x-api-key": good})).status_code == 200


async def test_the_routes_that_call_stripe_are_limited_per_account(make_api: Callable[..., Any]) -> None:
    """Stripe limits the platform's account as a whole: each billing account gets its own few payment requests a
    minute. Another tenant asking about this account (404) spends none of them; another account has its own."""
    pm = "/api/billing/payment-methods"
    async with make_api(api_stripe_calls_per_minute=3) as api:
        org = await api.org("ann", members={"vic": "viewer"})
        other = await api.org("zed", name="Other")
        zed = api.as_user("zed", other)
        for _ in range(5):
            assert (await api.client.get(pm, params={"account": org}, headers=zed)).status_code == 404
        # The account's readers and managers share its budget, whichever route they call.
        r = await api.client.post(f"{pm}/setup-intent", json={"account": org}, headers=api.as_user("ann", org))
        assert r.status_code == 201, r.text
        for headers in (api.as_user("vic", org), api.as_user("ann", org)):
            assert (await api.client.get(pm, params={"account": org}, headers=headers)).status_code == 200
        assert_429(await api.client.get(pm, params={"account": org}, headers=api.as_user("vic", org)), "20")
        r = await api.client.post(f"{pm}/pm_card0000/default", json={"account": org}, headers=api.as_user("ann", org))
        assert_429(r, "20")
        assert (await api.client.get(pm, params={"account": other}, headers=zed)).status_code == 200
        api.clock.advance(timedelta(seconds=20))  # one request back
        assert (await api.client.get(pm, params={"account": org}, headers=api.as_user("vic", org))).status_code == 200
        assert_429(await api.client.get(pm, params={"account": org}, headers=api.as_user("vic", org)), "20")


async def test_drafts_of_invoices_to_come_are_limited_per_account(make_api: Callable[..., Any]) -> None:
    """The upcoming invoice, forecasts, recommendations, previews and analytics compute over the warehouse in the
    API's shared threads: each account gets its own few a minute; another tenant's 404s spend none of them."""
    async with make_api(api_drafts_per_minute=2) as api:
        org = await api.org("ann")
        other = await api.org("zed", name="Other")
        await api.subscribe(org, "ann")
        await api.subscribe(other, "zed")
        zed, ann = api.as_user("zed", other), api.as_user("ann", org)
        upcoming = "/api/billing/invoices/upcoming"
        for _ in range(3):
            assert (await api.client.get(upcoming, params={"account": org}, headers=zed)).status_code == 404
        assert (await api.client.get(upcoming, params={"account": org}, headers=ann)).status_code == 200
        r = await api.client.get(f"/api/billing/organizations/{org}/analytics", headers=ann)
        assert r.status_code == 200, r.text
        assert_429(await api.client.get("/api/billing/forecast", params={"account": org}, headers=ann), "30")
        assert (await api.client.get(upcoming, params={"account": other}, headers=zed)).status_code == 200
