"""Outgoing webhook endpoints through the API (docs/notifications.md): who may see and do what, on SQLite and
PostgreSQL — owners and admins manage their organization's endpoints; members, viewers, member keys, a
person's own token without ``org`` and other organizations' admins get 403 or 404; secrets are shown once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from streams.notify.outbox import enqueue_event
from streams.store.models import WebhookDeliveryRow

pytestmark = pytest.mark.integration
ORGS = "/api/billing/organizations"
JUNE = datetime(2026, 6, 10, 12, tzinfo=UTC)


async def test_admins_manage_endpoints_and_nobody_else_sees_them(make_api: Callable[..., Any]) -> None:
    async with make_api(now=JUNE) as api:
        c = api.client
        a = await api.org("ann", name="A", members={"adam": "admin", "mia": "member", "vera": "viewer"})
        b = await api.org("bob", name="B")
        base = f"{ORGS}/{a}/webhook-endpoints"
        body = {"url": "https://hooks.a.test/in", "event_types": ["invoice.paid", "usage.alert", "invoice.paid"]}
        r = await c.post(base, json=body, headers=api.as_user("adam", a))
        assert r.status_code == 201, r.text
        created = r.json()
        ep = created["id"]
        assert created["secret"].startswith("whsec_")
        assert created["event_types"] == ["invoice.paid", "usage.alert"]
        # The secret is shown once: never in a listing.
        listed = (await c.get(base, headers=api.as_user("ann", a))).json()["endpoints"]
        assert [(e["id"], e["secret"]) for e in listed] == [(ep, None)]
        # Inside A, members and viewers (and a member's key) are refused; outside A, nothing exists.
        member_key = await api.key(a, "ann", "member")
        for who in (api.as_user("mia", a), api.as_user("vera", a), member_key):
            assert (await c.get(base, headers=who)).status_code == 403
            assert (await c.post(base, json=body, headers=who)).status_code == 403
            assert (await c.get(f"{base}/{ep}/deliveries", headers=who)).status_code == 403
            assert (await c.post(f"{base}/{ep}/rotate-secret", headers=who)).status_code == 403
            assert (await c.delete(f"{base}/{ep}", headers=who)).status_code == 403
        # A person's own token without ``org`` acts with the person's role, as everywhere in the API: an
        # admin's does; the owner of B's, or a stranger's, finds nothing.
        assert (await c.get(base, headers=api.as_user("adam"))).status_code == 200
        assert (await c.get(base, headers=api.as_user("mia"))).status_code == 403
        for who in (api.as_user("bob", b), api.as_user("bob"), api.as_user("mallory"), api.as_user("adam", b)):
            assert (await c.get(base, headers=who)).status_code == 404
            assert (await c.post(base, json=body, headers=who)).status_code == 404
            assert (await c.get(f"{base}/{ep}/deliveries", headers=who)).status_code == 404
            assert (await c.post(f"{base}/{ep}/rotate-secret", headers=who)).status_code == 404
            assert (await c.delete(f"{base}/{ep}", headers=who)).status_code == 404
        # B's admin naming A's endpoint under B's own organization finds nothing either.
        other = f"{ORGS}/{b}/webhook-endpoints/{ep}"
        assert (await c.get(f"{other}/deliveries", headers=api.as_user("bob", b))).status_code == 404
        assert (await c.delete(other, headers=api.as_user("bob", b))).status_code == 404
        assert (await c.post(f"{other}/rotate-secret", headers=api.as_user("bob", b))).status_code == 404
        assert (await c.get(base, headers=api.as_user("ann", a))).json()["endpoints"][0]["id"] == ep
        # Rotation shows a new secret once.
        r = await c.post(f"{base}/{ep}/rotate-secret", headers=api.as_user("ann", a))
        assert r.status_code == 200 and r.json()["secret"].startswith("whsec_")
        assert r.json()["secret"] != created["secret"]
        # Deliveries are listed per endpoint.
        with api.ctx.sessions.begin() as s:
            assert enqueue_event(s, a, "invoice.paid", "evt_1", {"invoice_id": "in_x"}, JUNE) == 1
            assert enqueue_event(s, a, "invoice.overdue", "evt_2", {"invoice_id": "in_x"}, JUNE) == 0
            assert enqueue_event(s, b, "invoice.paid", "evt_3", {"invoice_id": "in_y"}, JUNE) == 0
        r = await c.get(f"{base}/{ep}/deliveries", headers=api.as_user("adam", a))
        assert [(d["event_id"], d["attempts"], d["outcome"]) for d in r.json()["deliveries"]] == [("evt_1", 0, None)]
        assert (await c.delete(f"{base}/{ep}", headers=api.as_user("adam", a))).status_code == 200
        assert (await c.get(base, headers=api.as_user("ann", a))).json()["endpoints"] == []


@pytest.mark.parametrize(
    "url",
    ["ftp://hooks.a.test/in", "file:///etc/passwd", "https://user:pw@hooks.a.test/", "not a url", "http:///x"],
)
async def test_only_http_urls_and_known_events(make_api: Callable[..., Any], url: str) -> None:
    async with make_api(now=JUNE) as api:
        a = await api.org("ann", name="A")
        base = f"{ORGS}/{a}/webhook-endpoints"
        r = await api.client.post(
            base, json={"url": url, "event_types": ["invoice.paid"]}, headers=api.as_user("ann", a)
        )
        assert r.status_code == 422, r.text
        r = await api.client.post(
            base, json={"url": "https://ok.test/", "event_types": ["charge.refunded"]}, headers=api.as_user("ann", a)
        )
        assert r.status_code == 422, r.text


async def test_a_webhook_never_points_the_platform_at_its_own_network(make_api: Callable[..., Any]) -> None:
    """An admin's URL is fetched from inside the platform: loopback (the warehouse's HTTP interface), link-local
    (cloud metadata), private addresses and localhost are refused (server-side request forgery), unless the
    operator lifts the rule for local development (METERLINE_WEBHOOK_ALLOW_PRIVATE_TARGETS)."""
    private = [
        "http://127.0.0.1:8123/?query=DROP+TABLE+meterline.invoices",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/in",
        "http://localhost:8090/api/billing/usage/record",
        "http://[::1]:9092/",
    ]
    async with make_api(now=JUNE) as api:
        a = await api.org("ann", name="A")
        base = f"{ORGS}/{a}/webhook-endpoints"
        for url in private:
            r = await api.client.post(
                base, json={"url": url, "event_types": ["invoice.paid"]}, headers=api.as_user("ann", a)
            )
            assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_request"), (url, r.text)
            assert "public" in r.json()["error"]["message"]
        listed = await api.client.get(base, headers=api.as_user("ann", a))
        assert listed.json()["endpoints"] == []
    async with make_api(now=JUNE, webhook_allow_private_targets=True) as api:
        a = await api.org("ann", name="A")
        r = await api.client.post(
            f"{ORGS}/{a}/webhook-endpoints",
            json={"url": private[0], "event_types": ["invoice.paid"]},
            headers=api.as_user("ann", a),
        )
        assert r.status_code == 201, r.text


async def test_stripe_payment_webhooks_notify_once(make_api: Callable[..., Any]) -> None:
    """invoice.payment_failed → one payment_failed notice (with the next retry date) and one
    invoice.payment_failed webhook event, however often Stripe delivers it; invoice.paid → payment_succeeded."""
    import orjson
    from sqlalchemy import select

    from streams.store.models import NoticeRow, Organization, WebhookDeliveryRow

    async with make_api(now=JUNE) as api:
        a = await api.org("ann", name="A")
        h = api.as_user("ann", a)
        with api.ctx.sessions.begin() as s:
            org = s.get(Organization, a)
            assert org is not None
            org.billing_email = "ap@a.test"
        r = await api.client.post("/api/billing/subscriptions/create", json={"tier": "standard"}, headers=h)
        api.link_stripe(r.json()["id"], "cus_N1", "sub_N1")
        body = {"url": "https://hooks.a.test/in", "event_types": ["invoice.payment_failed", "invoice.paid"]}
        ep = (await api.client.post(f"{ORGS}/{a}/webhook-endpoints", json=body, headers=h)).json()["id"]
        created = int(datetime.now(UTC).timestamp())
        invoice = {
            "id": "in_stripe_1",
            "object": "invoice",
            "subscription": "sub_N1",
            "customer": "cus_N1",
            "currency": "eur",
            "amount_due": 12050,
            "amount_paid": 0,
            "next_payment_attempt": int(datetime(2026, 6, 13, 9, tzinfo=UTC).timestamp()),
        }
        fail = {"id": "evt_n_fail", "object": "event", "type": "invoice.payment_failed", "created": created}
        fail["data"] = {"object": invoice}
        for _ in range(2):  # Stripe redelivers
            assert (await api.webhook(orjson.dumps(fail))).status_code == 200
        paid = {**fail, "id": "evt_n_paid", "type": "invoice.paid", "created": created + 60}
        paid["data"] = {"object": {**invoice, "amount_paid": 12050}}
        assert (await api.webhook(orjson.dumps(paid))).status_code == 200
        with api.ctx.sessions() as s:
            notices = s.scalars(select(NoticeRow).order_by(NoticeRow.id)).all()
            deliveries = s.scalars(select(WebhookDeliveryRow).order_by(WebhookDeliveryRow.id)).all()
        assert [(n.kind, n.key, n.recipient) for n in notices] == [
            ("payment_failed", "payment_failed:evt_n_fail", "ap@a.test"),
            ("payment_succeeded", "payment_succeeded:evt_n_paid", "ap@a.test"),
        ]
        assert (notices[0].context["amount"], notices[0].context["next_retry"]) == ("120.50", "2026-06-13")
        assert notices[1].context["amount"] == "120.50"
        assert [(d.endpoint_id, d.event_id, d.event_type) for d in deliveries] == [
            (ep, "msg_evt_n_fail", "invoice.payment_failed"),
            (ep, "msg_evt_n_paid", "invoice.paid"),
        ]


async def test_every_subscription_version_is_a_subscription_updated_event_of_its_organization(
    make_api: Callable[..., Any],
) -> None:
    async with make_api(now=JUNE) as api:
        c = api.client
        a = await api.org("ann", name="A")
        b = await api.org("bob", name="B")
        hooks = {}
        for org, owner in ((a, "ann"), (b, "bob")):
            body = {"url": f"https://hooks.{owner}.test/in", "event_types": ["subscription.updated"]}
            r = await c.post(f"{ORGS}/{org}/webhook-endpoints", json=body, headers=api.as_user(owner, org))
            hooks[org] = r.json()["id"]
        h = api.as_user("ann", a)
        r = await c.post("/api/billing/subscriptions/create", json={"tier": "standard"}, headers=h)
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
        assert (await c.post(f"/api/billing/subscriptions/{sid}/cancel", headers=h)).status_code == 200
        with api.ctx.sessions() as s:
            rows = s.scalars(select(WebhookDeliveryRow).order_by(WebhookDeliveryRow.id)).all()
            got = [(d.endpoint_id, d.event_type, d.payload["data"]) for d in rows]
        # A's endpoint has one event per change (created, then a cancel at the period's end), each
        # naming the subscription, its status and why; B's hears nothing of A.
        assert [ep for ep, _, _ in got] == [hooks[a], hooks[a]]
        assert {kind for _, kind, _ in got} == {"subscription.updated"}
        first, second = (data for _, _, data in got)
        assert (first["subscription_id"], first["account_id"], first["tier"]) == (sid, a, "standard")
        assert second["version"] > first["version"]
        assert second["reason"] == "canceled_at_period_end" and second["status"] == "canceled"
        r = await c.get(f"{ORGS}/{a}/webhook-endpoints/{hooks[a]}/deliveries", headers=h)
        assert sorted(d["event_id"] for d in r.json()["deliveries"]) == [
            f"msg_sub_{sid}_{first['version']}",
            f"msg_sub_{sid}_{second['version']}",
        ]
