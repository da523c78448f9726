"""The subscription lifecycle over HTTP: create → upgrade → payment failed → paid → cancel → reactivate,
webhooks (signature, replay, out of order), and bad input that changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from streams.store.models import OutboxRow, SubscriptionVersionRow, WebhookEvent
from tests.support.api import Api, sign, stripe_event

pytestmark = pytest.mark.integration
NOW = datetime(2026, 6, 10, 12, tzinfo=UTC)
BASE = "/api/billing/subscriptions"


def counts(api: Api) -> tuple[int, int, int]:
    with api.ctx.sessions() as s:
        return (
            s.scalar(select(func.count()).select_from(SubscriptionVersionRow)) or 0,
            s.scalar(select(func.count()).select_from(OutboxRow)) or 0,
            s.scalar(select(func.count()).select_from(WebhookEvent)) or 0,
        )


async def test_lifecycle(make_api: Callable[..., Any]) -> None:
    async with make_api(now=NOW) as api:
        org = await api.org("olga")
        h = api.as_user("olga", org)
        r = await api.client.post(f"{BASE}/create", json={"tier": "free", "interval": "month"}, headers=h)
        assert r.status_code == 201, r.text
        sub = r.json()
        sid = sub["id"]
        api.link_stripe(sid, "cus_A1", "sub_A1")  # what the Stripe mirror stores
        assert (sub["tier"], sub["status"], sub["account_id"], sub["anchor"]) == ("free", "active", org, "2026-06-10")
        assert sub["current_period"]["end"] == "2026-07-10T00:00:00Z"

        # Upgrade: at once, the proration comes from the history.
        api.clock.advance(timedelta(days=5))
        r = await api.client.put(f"{BASE}/{sid}", json={"tier": "standard"}, headers=h)
        assert r.status_code == 200, r.text
        assert (r.json()["change"], r.json()["tier"]) == ("upgrade", "standard")
        assert r.json()["versions"][-1]["effective_from"] == "2026-06-15T12:00:00Z"

        # Payment failed → past_due with a grace period; paid → active again.
        created = int(datetime.now(UTC).timestamp())
        r = await api.webhook(stripe_event("evt_fail_1", "invoice.payment_failed", created, "sub_A1"))
        assert r.status_code == 200 and r.json() == {"received": True, "duplicate": False, "outcome": "applied"}
        r = await api.client.get(f"{BASE}/{sid}", headers=h)
        assert r.json()["status"] == "past_due"
        assert r.json()["grace_until"] == "2026-06-22T12:00:00Z"
        # A member of the org on past_due keeps the tier's features during the grace period.
        r = await api.client.get(f"/api/billing/entitlements/{org}/ai_twin", headers=h)
        assert r.json()["allowed"] is True and r.json()["status"] == "past_due"
        # No upgrade while past_due.
        r = await api.client.put(f"{BASE}/{sid}", json={"tier": "enterprise"}, headers=h)
        assert r.status_code == 409 and r.json()["error"]["code"] == "payment_past_due"

        api.clock.advance(timedelta(days=1))
        r = await api.webhook(stripe_event("evt_paid_1", "invoice.paid", created + 60, "sub_A1"))
        assert r.json()["outcome"] == "applied"
        r = await api.client.get(f"{BASE}/{sid}", headers=h)
        assert (r.json()["status"], r.json()["grace_until"]) == ("active", None)

        # Cancel at the period end, then reactivate before it.
        r = await api.client.post(f"{BASE}/{sid}/cancel", headers=h)
        assert r.status_code == 200, r.text
        assert (r.json()["status"], r.json()["cancel_at"]) == ("active", "2026-07-10T00:00:00Z")
        r = await api.client.post(f"{BASE}/{sid}/cancel", json={}, headers=h)
        assert r.status_code == 409 and r.json()["error"]["code"] == "cancel_pending"
        r = await api.client.post(f"{BASE}/{sid}/reactivate", headers=h)
        assert r.status_code == 200 and r.json()["cancel_at"] is None
        r = await api.client.post(f"{BASE}/{sid}/reactivate", headers=h)
        assert r.status_code == 409 and r.json()["error"]["code"] == "not_canceling"

        # Downgrade waits for the period end; the versions say so.
        r = await api.client.put(f"{BASE}/{sid}", json={"tier": "free"}, headers=h)
        body = r.json()
        assert body["change"] == "downgrade" and body["tier"] == "standard"
        assert body["pending_change"] == {"tier": "free", "interval": "month", "effective_from": "2026-07-10T00:00:00Z"}
        api.clock.now = datetime(2026, 7, 10, 0, 0, 1, tzinfo=UTC)
        r = await api.client.get(f"{BASE}/{sid}", headers=h)
        assert (r.json()["tier"], r.json()["pending_change"]) == ("free", None)

        # Cancel at once (DELETE); a canceled subscription is not reactivated; a new one may be created.
        r = await api.client.delete(f"{BASE}/{sid}", headers=h)
        assert r.status_code == 200 and r.json()["status"] == "canceled"
        r = await api.client.post(f"{BASE}/{sid}/reactivate", headers=h)
        assert r.status_code == 409 and r.json()["error"]["code"] == "subscription_canceled"
        r = await api.client.get(f"/api/billing/entitlements/{org}/api_calls", headers=h)
        assert (r.json()["tier"], r.json()["status"], r.json()["limit"]) == ("free", "canceled", "10000")
        r = await api.client.post(f"{BASE}/create", json={"tier": "standard"}, headers=h)
        assert r.status_code == 201 and r.json()["id"] != sid

        # Every version went to the outbox, in the same transactions.
        versions, outbox, events = counts(api)
        assert versions == outbox and versions >= 8 and events == 2
        statuses = [(v["tier"], v["status"]) for v in r.json()["versions"]]
        assert ("standard", "past_due") in statuses and ("free", "canceled") in statuses
        await api.app.state.relay.drain()
        assert [v.version for v in api.published] == sorted(v.version for v in api.published)
        assert len(api.published) == outbox


async def test_webhooks_are_verified_idempotent_and_tolerate_disorder(make_api: Callable[..., Any]) -> None:
    async with make_api(now=NOW) as api:
        org = await api.org("wendy")
        h = api.as_user("wendy", org)
        r = await api.client.post(f"{BASE}/create", json={"tier": "standard"}, headers=h)
        sid = r.json()["id"]
        api.link_stripe(sid, "cus_W1", "sub_W1")
        created = int(datetime.now(UTC).timestamp())
        fail = stripe_event("evt_w_fail", "invoice.payment_failed", created, "sub_W1")

        before = counts(api)
        for bad in ["t=1,v1=deadbeef", sign(fail, secret="whsec_other"), sign(fail, at=created - 3600)]:
            r = await api.webhook(fail, signature=bad)
            assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_signature"
        r = await api.client.post(
            "/api/billing/webhooks/stripe", content=fail, headers={"content-type": "application/json"}
        )
        assert r.status_code == 400 and r.json()["error"]["code"] == "missing_signature"
        r = await api.webhook(b"not json")
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_payload"
        assert counts(api) == before

        r = await api.webhook(fail)
        assert r.json()["outcome"] == "applied"
        after_first = counts(api)
        r = await api.webhook(fail)  # a replay: nothing changes
        assert r.json() == {"received": True, "duplicate": True, "outcome": "applied"}
        assert counts(api) == after_first

        # An older event delivered late changes nothing; an unknown subscription is acknowledged.
        r = await api.webhook(stripe_event("evt_w_old_paid", "invoice.paid", created - 100, "sub_W1"))
        assert r.json()["outcome"] == "ignored:out_of_order"
        assert (await api.client.get(f"{BASE}/{sid}", headers=h)).json()["status"] == "past_due"
        r = await api.webhook(stripe_event("evt_w_other", "invoice.paid", created + 5, "sub_unknown", "cus_unknown"))
        assert r.json()["outcome"] == "ignored:unknown_subscription"
        r = await api.webhook(stripe_event("evt_w_type", "customer.created", created + 6, "sub_W1"))
        assert r.json()["outcome"] == "ignored:unhandled_type"

        # Past the grace period: unpaid, and entitled as the free tier.
        api.clock.advance(timedelta(days=7, seconds=1))
        sub = (await api.client.get(f"{BASE}/{sid}", headers=h)).json()
        assert sub["status"] == "unpaid"
        r = await api.client.get(f"/api/billing/entitlements/{org}/ai_twin", headers=h)
        assert (r.json()["allowed"], r.json()["tier"], r.json()["reason"]) == (False, "free", "not_in_tier")
        r = await api.webhook(stripe_event("evt_w_paid", "invoice.paid", created + 10, "sub_W1"))
        assert r.json()["outcome"] == "applied"
        assert (await api.client.get(f"{BASE}/{sid}", headers=h)).json()["status"] == "active"


async def test_bad_input_is_refused_with_a_reason_and_changes_nothing(make_api: Callable[..., Any]) -> None:
    async with make_api(now=NOW) as api:
        org = await api.org("bob", members={"uma": "member"})
        h = api.as_user("bob", org)
        r = await api.client.post(f"{BASE}/create", json={"tier": "standard"}, headers=h)
        sid = r.json()["id"]
        before = counts(api)
        cases: list[tuple[str, str, Any, int, str]] = [
            ("POST", f"{BASE}/create", {"tier": "standard"}, 409, "subscription_exists"),
            (
                "POST",
                f"{BASE}/create",
                {"tier": "standard", "account_kind": "user", "account_id": "uma"},
                403,
                "forbidden",
            ),
            ("POST", f"{BASE}/create", {"tier": "free", "stripe_customer_id": "cus_X"}, 422, "invalid_request"),
            ("POST", f"{BASE}/create", {"tier": "free", "stripe_subscription_id": "sub_X"}, 422, "invalid_request"),
            ("POST", f"{BASE}/create", {"tier": "standard", "interval": "week"}, 422, "invalid_request"),
            ("POST", f"{BASE}/create", {"tier": "standard", "extra": 1}, 422, "invalid_request"),
            ("POST", f"{BASE}/create", {"tier": "standard", "trial_days": -1}, 422, "invalid_request"),
            ("PUT", f"{BASE}/{sid}", {"tier": "standard"}, 409, "no_change"),
            ("PUT", f"{BASE}/{sid}", {}, 422, "invalid_request"),
            ("PUT", f"{BASE}/{sid}", {"tier": "gold"}, 422, "unknown_tier"),
            ("PUT", f"{BASE}/msub_0000000000000000", {"tier": "free"}, 404, "not_found"),
            ("GET", f"{BASE}/not-an-id", None, 400, "malformed_id"),
            ("GET", f"{BASE}/msub_{'z' * 16}", None, 400, "malformed_id"),
            ("POST", f"{BASE}/{sid}/reactivate", None, 409, "not_canceling"),
            ("GET", "/api/billing/entitlements/a%20b/api_calls", None, 400, "malformed_id"),
            ("GET", f"/api/billing/entitlements/{org}/teleportation", None, 404, "unknown_feature"),
            ("GET", "/api/billing/usage/current", None, 422, "invalid_request"),
            ("GET", f"/api/billing/usage/history?account={org}&granularity=hour", None, 422, "invalid_request"),
            ("DELETE", "/api/billing/organizations", None, 405, "method_not_allowed"),
            ("GET", "/api/billing/nothing-here", None, 404, "not_found"),
        ]
        for method, url, body, status, code in cases:
            r = await api.client.request(method, url, json=body, headers=h)
            assert (r.status_code, r.json()["error"]["code"]) == (status, code), (method, url, r.text)
            assert set(r.json()["error"]) == {"code", "message"} and r.json()["error"]["message"]
        # A person's own subscription (their token without 'org') to a tier that does not exist.
        r = await api.client.post(
            f"{BASE}/create",
            json={"tier": "platinum", "account_kind": "user", "organization_id": org},
            headers=api.as_user("uma"),
        )
        assert (r.status_code, r.json()["error"]["code"]) == (422, "unknown_tier"), r.text
        # Not JSON, wrong media type, oversized (declared and streamed) bodies.
        r = await api.client.post(
            f"{BASE}/create", content=b"{not json", headers={**h, "content-type": "application/json"}
        )
        assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_request")
        r = await api.client.post(f"{BASE}/create", content=b"tier=free", headers={**h, "content-type": "text/plain"})
        assert (r.status_code, r.json()["error"]["code"]) == (415, "unsupported_media_type")
        big = b'{"tier": "' + b"x" * 70_000 + b'"}'
        r = await api.client.post(f"{BASE}/create", content=big, headers={**h, "content-type": "application/json"})
        assert (r.status_code, r.json()["error"]["code"]) == (413, "body_too_large")

        async def chunks() -> Any:
            for _ in range(100):
                yield b" " * 1000

        r = await api.client.post(f"{BASE}/create", content=chunks(), headers={**h, "content-type": "application/json"})
        assert (r.status_code, r.json()["error"]["code"]) == (413, "body_too_large")
        # Credentials.
        for auth, code in [
            ({}, "unauthorized"),
            ({"authorization": "Basic abc"}, "unauthorized"),
            ({"authorization": "Bearer mlb_nope_nope"}, "invalid_api_key"),
            ({"authorization": "Bearer not.a.jwt"}, "invalid_token"),
            (
                {"authorization": f"Bearer {api.token('bob', org, secret='another-secret-0123456789abcdef0123')}"},
                "invalid_token",
            ),
            ({"authorization": f"Bearer {api.token('bob', org, ttl=-10)}"}, "token_expired"),
            # An id longer than the store's columns (PostgreSQL refused it with a 500; SQLite kept it).
            ({"authorization": f"Bearer {api.token('b' * 129, org)}"}, "invalid_token"),
            ({"authorization": f"Bearer {api.token('bob', 'o' * 129)}"}, "invalid_token"),
        ]:
            r = await api.client.post(f"{BASE}/{sid}/cancel", headers=auth)
            assert (r.status_code, r.json()["error"]["code"]) == (401, code), auth
        assert counts(api) == before
        assert (await api.client.get(f"{BASE}/{sid}", headers=h)).json()["cancel_at"] is None
