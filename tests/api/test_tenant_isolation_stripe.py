"""Issue 13, items 1, 3 and 4 (second half), played as an attacker would against the real API, on SQLite and
PostgreSQL: caller-supplied Stripe ids, webhooks routed to another tenant, subscription squatting, and
concurrent creates. Each attack is refused, and the victim's billing is untouched."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
import stripe
from alembic import command
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError

from rating.catalog.loader import load_catalog
from streams.settings import Settings
from streams.settlement.stripe_link import StripeLinkRefused, check_owner, link_existing
from streams.store import subscription_store as store
from streams.store.db import _config, make_engine, migrate
from streams.store.models import StripeCustomer, StripeOutboxRow, Subscription
from tests.api.test_stripe_mirror import StripeRecorder, mirror_relay, stored
from tests.support.api import Api

pytestmark = pytest.mark.integration
NOW = datetime(2026, 6, 10, 12, tzinfo=UTC)
BASE = "/api/billing/subscriptions"


def invoice_event(event_id: str, kind: str, *, sub: str | None, customer: str, account: str | None = None) -> bytes:
    """A Stripe invoice event in the current API shape: the subscription (and its metadata) under ``parent``."""
    details: dict[str, Any] = {"subscription": sub, "metadata": {"account_id": account} if account else {}}
    return orjson.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": kind,
            "created": int(NOW.timestamp()),
            "data": {
                "object": {
                    "id": f"in_{event_id}",
                    "object": "invoice",
                    "customer": customer,
                    "parent": {"type": "subscription_details", "subscription_details": details},
                }
            },
        }
    )


async def create(api: Api, headers: dict[str, str], **body: Any) -> Any:
    return await api.client.post(f"{BASE}/create", json={"tier": "standard", **body}, headers=headers)


async def status(api: Api, sid: str, headers: dict[str, str]) -> str:
    r = await api.client.get(f"{BASE}/{sid}", headers=headers)
    assert r.status_code == 200, r.text
    value: str = r.json()["status"]
    return value


def mismatches(api: Api) -> float | None:
    return api.ctx.metrics.registry.get_sample_value("meterline_api_webhook_account_mismatch_total")


# --- item 1: Stripe ids are the platform's ------------------------------------------------------------


async def test_an_admin_cannot_take_over_another_tenants_stripe_objects(make_api: Callable[..., Any]) -> None:
    async with make_api(now=NOW) as api:
        a, b = await api.org("alice", "A"), await api.org("bert", "B")
        ha, hb = api.as_user("alice", a), api.as_user("bert", b)
        r = await create(api, hb)
        sid_b = r.json()["id"]
        api.link_stripe(sid_b, "cus_B", "sub_B")  # what the mirror stored for B

        # A sends B's ids: refused before anything is written (they are not inputs at all).
        for ids in (
            {"stripe_customer_id": "cus_B", "stripe_subscription_id": "sub_B"},
            {"stripe_customer_id": "cus_B"},
        ):
            r = await create(api, ha, **ids)
            assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_request"), r.text
        r = await create(api, ha)
        sid_a = r.json()["id"]
        assert (r.json()["stripe_customer_id"], r.json()["stripe_subscription_id"]) == (None, None)
        with api.ctx.sessions() as s:
            mirrored = [row.payload for row in s.scalars(select(StripeOutboxRow))]
        assert not any("cus_B" in str(p) or "sub_B" in str(p) for p in mirrored if p["subscription_id"] == sid_a)

        # B's failed payment goes to B, not A ("newest row wins" is gone).
        r = await api.webhook(invoice_event("evt_b_fail", "invoice.payment_failed", sub="sub_B", customer="cus_B"))
        assert r.json()["outcome"] == "applied"
        assert (await status(api, sid_b, hb), await status(api, sid_a, ha)) == ("past_due", "active")
        # An invoice naming only B's customer (an invoiced tier) finds B too.
        r = await api.webhook(invoice_event("evt_b_paid", "invoice.paid", sub=None, customer="cus_B"))
        assert r.json()["outcome"] == "applied"
        assert await status(api, sid_b, hb) == "active"


async def test_the_store_keeps_stripe_ids_to_one_tenant(make_api: Callable[..., Any]) -> None:
    async with make_api(now=NOW) as api:
        a, b = await api.org("alice", "A"), await api.org("bert", "B")
        sid_a = (await create(api, api.as_user("alice", a))).json()["id"]
        sid_b = (await create(api, api.as_user("bert", b))).json()["id"]
        api.link_stripe(sid_b, "cus_B", "sub_B")
        # The platform path itself refuses B's customer or subscription on A's subscription.
        with pytest.raises(store.StripeOwnerConflict):
            api.link_stripe(sid_a, "cus_B")
        with pytest.raises(store.StripeOwnerConflict):
            api.link_stripe(sid_a, "cus_A", "sub_B")
        # And the constraints hold whatever code writes: a Stripe subscription on one row, a customer of one account.
        with pytest.raises(IntegrityError), api.ctx.sessions.begin() as s:
            s.get_one(Subscription, sid_a).stripe_subscription_id = "sub_B"
        with pytest.raises(IntegrityError), api.ctx.sessions.begin() as s:
            s.add(StripeCustomer(stripe_customer_id="cus_B", account_id=a, created_at=NOW))
        with api.ctx.sessions() as s:
            row_a = s.get_one(Subscription, sid_a)
            assert (row_a.stripe_customer_id, row_a.stripe_subscription_id) == (None, None)
            assert store.customer_account(s, "cus_B") == b


async def test_a_webhook_naming_another_account_is_ignored_and_counted(make_api: Callable[..., Any]) -> None:
    async with make_api(now=NOW) as api:
        orgs = [await api.org(f"own{i}", f"Org {i}") for i in range(3)]
        heads = [api.as_user(f"own{i}", o) for i, o in enumerate(orgs)]
        sids = [(await create(api, h)).json()["id"] for h in heads]
        for i, sid in enumerate(sids):
            api.link_stripe(sid, f"cus_{i}", f"sub_{i}")

        # B's subscription, but the subscription metadata says A: not applied, counted.
        r = await api.webhook(
            invoice_event("evt_x1", "invoice.payment_failed", sub="sub_1", customer="cus_1", account=orgs[0])
        )
        assert r.json()["outcome"] == "ignored:account_mismatch"
        # B's subscription with C's customer.
        r = await api.webhook(invoice_event("evt_x2", "invoice.payment_failed", sub="sub_1", customer="cus_2"))
        assert r.json()["outcome"] == "ignored:account_mismatch"
        assert mismatches(api) == 2
        assert [await status(api, sid, h) for sid, h in zip(sids, heads, strict=True)] == ["active"] * 3
        # A replay is answered from the record, not counted again.
        r = await api.webhook(
            invoice_event("evt_x1", "invoice.payment_failed", sub="sub_1", customer="cus_1", account=orgs[0])
        )
        assert r.json() == {"received": True, "duplicate": True, "outcome": "ignored:account_mismatch"}
        assert mismatches(api) == 2

        # Metadata naming the right account applies.
        r = await api.webhook(
            invoice_event("evt_ok", "invoice.payment_failed", sub="sub_1", customer="cus_1", account=orgs[1])
        )
        assert r.json()["outcome"] == "applied"
        assert [await status(api, sid, h) for sid, h in zip(sids, heads, strict=True)] == [
            "active",
            "past_due",
            "active",
        ]


# --- item 3: subscription squatting -------------------------------------------------------------------


async def test_no_caller_subscribes_an_account_it_does_not_own(make_api: Callable[..., Any]) -> None:
    async with make_api(now=NOW) as api:
        # bob is a member of A (alice admin) and of B; carl owns C.
        a = await api.org("alice", "A", members={"bob": "member", "ada": "admin"})
        b = await api.org("bert", "B", members={"bob": "member"})
        c = await api.org("carl", "C")
        admin_a, key_a = api.as_user("ada", a), await api.key(a, "alice", "admin")

        refused: list[tuple[dict[str, str], dict[str, Any], int]] = [
            (admin_a, {"account_kind": "user", "account_id": "bob"}, 403),  # another person's account
            (key_a, {"account_kind": "user", "account_id": "bob"}, 403),
            (key_a, {"account_kind": "user"}, 403),  # a key is nobody's own account
            (admin_a, {"account_kind": "user", "account_id": b}, 403),  # an organization as a "user"
            (api.as_user("bob", a), {"account_kind": "user", "account_id": a}, 403),
            (api.as_user("bob", a), {}, 403),  # a member does not subscribe its organization
            (admin_a, {"organization_id": c}, 404),  # another organization
            (admin_a, {"account_id": c}, 422),
            (api.as_user("carl", c), {"organization_id": a, "account_kind": "user"}, 404),
        ]
        for headers, body, code in refused:
            r = await create(api, headers, **body)
            assert r.status_code == code, (body, r.text)
        with api.ctx.sessions() as s:
            assert s.scalar(select(func.count()).select_from(Subscription)) == 0

        # A token acting in an organization reaches that organization only, not its holder's own account.
        r = await create(api, api.as_user("bob", b), account_kind="user")
        assert r.status_code == 403, r.text
        # The owners of each account subscribe it: bob with his own token (no 'org'), kept under B.
        r = await create(api, api.as_user("bob"), account_kind="user", organization_id=b)
        assert (r.status_code, r.json()["account_id"], r.json()["organization_id"]) == (201, "bob", b)
        bob_sid = r.json()["id"]
        assert (await create(api, api.as_user("bert", b))).status_code == 201
        assert (await create(api, key_a)).status_code == 201
        # bob manages his own subscription, whatever his role; B's owner does not see it.
        assert (await api.client.get(f"{BASE}/{bob_sid}", headers=api.as_user("bert", b))).status_code == 404
        r = await api.client.post(f"{BASE}/{bob_sid}/cancel", headers=api.as_user("bob"))
        assert r.status_code == 200, r.text


async def test_conflicts_disclose_no_ids(make_api: Callable[..., Any]) -> None:
    async with make_api(now=NOW) as api:
        a = await api.org("alice", "A", members={"bob": "member"})
        b = await api.org("bert", "B", members={"bob": "member"})
        sid = (await create(api, api.as_user("bob"), account_kind="user", organization_id=a)).json()["id"]
        # bob's account already has a subscription (kept under A): trying again under B learns nothing of it.
        r = await create(api, api.as_user("bob"), account_kind="user", organization_id=b)
        assert (r.status_code, r.json()["error"]["code"]) == (409, "subscription_exists")
        assert sid not in r.text and a not in r.text
        org_sid = (await create(api, api.as_user("alice", a))).json()["id"]
        r = await create(api, api.as_user("alice", a))
        assert r.status_code == 409 and org_sid not in r.text


# --- item 4: concurrent creates -----------------------------------------------------------------------


async def test_concurrent_creates_leave_one_open_subscription(make_api: Callable[..., Any]) -> None:
    async with make_api(now=NOW) as api:
        a = await api.org("alice", "A", members={"bob": "member"})
        b = await api.org("bert", "B", members={"bob": "member"})
        ha, key = api.as_user("alice", a), await api.key(a, "alice", "admin")
        # An organization: its owner's token and its admin key at once, 8 requests.
        answers = await asyncio.gather(*(create(api, ha if i % 2 else key) for i in range(8)))
        # One person with their own token, kept under either of their two organizations, at once.
        answers_bob = await asyncio.gather(
            *(create(api, api.as_user("bob"), account_kind="user", organization_id=a if i % 2 else b) for i in range(8))
        )
        for got in (answers, answers_bob):
            codes = sorted(r.status_code for r in got)
            assert codes == [201] + [409] * 7, [r.text for r in got]
            assert {r.json()["error"]["code"] for r in got if r.status_code == 409} == {"subscription_exists"}
        with api.ctx.sessions() as s:
            open_rows = s.execute(
                select(Subscription.account_id, func.count())
                .where(Subscription.status != "canceled")
                .group_by(Subscription.account_id)
            ).all()
        assert sorted(open_rows) == sorted([(a, 1), ("bob", 1)])
        # Canceled, the account may subscribe again: once, however many ask.
        sid = next(r.json()["id"] for r in answers if r.status_code == 201)
        assert (await api.client.delete(f"{BASE}/{sid}", headers=ha)).status_code == 200
        again = await asyncio.gather(*(create(api, ha) for _ in range(6)))
        assert sorted(r.status_code for r in again) == [201] + [409] * 5


# --- the operator's path to link existing Stripe objects ----------------------------------------------


def test_check_owner_reads_metadata_account_id() -> None:
    check_owner("customer", {"id": "cus_1", "metadata": {"account_id": "org_a"}}, "org_a")
    for obj in ({"id": "cus_1", "metadata": {"account_id": "org_b"}}, {"id": "cus_1", "metadata": {}}, {"id": "c"}):
        with pytest.raises(StripeLinkRefused):
            check_owner("customer", obj, "org_a")


async def test_linking_existing_stripe_objects_checks_their_account(
    make_api: Callable[..., Any], stack_settings: Settings
) -> None:
    base = stack_settings.resolved_stripe_api_base
    recorder = StripeRecorder(load_catalog().at(NOW))  # stripe-mock, keeping the customers' metadata
    async with make_api(now=NOW) as api:
        a, b = await api.org("alice", "A"), await api.org("bert", "B")
        sid_a = (await create(api, api.as_user("alice", a))).json()["id"]
        sid_b = (await create(api, api.as_user("bert", b))).json()["id"]
        plain = stripe.StripeClient("sk_test_123", base_addresses={"api": base}, max_network_retries=0)
        # stripe-mock's customers carry no account: refused.
        with pytest.raises(StripeLinkRefused, match="names no account"):
            link_existing(api.ctx.sessions, plain, sid_a, "cus_anything", None, NOW)

        client = recorder.client(base)
        cus_a = client.v1.customers.create(params={"metadata": {"account_id": a}}).id
        cus_b = client.v1.customers.create(params={"metadata": {"account_id": b}}).id
        with pytest.raises(StripeLinkRefused, match=f"names '{b}', not {a}"):
            link_existing(api.ctx.sessions, client, sid_a, cus_b, None, NOW)
        linked = link_existing(api.ctx.sessions, client, sid_b, cus_b, None, NOW)
        assert (linked.account_id, linked.stripe_customer_id, linked.changed) == (b, cus_b, True)
        assert link_existing(api.ctx.sessions, client, sid_a, cus_a, None, NOW).changed
        # A Stripe subscription of another customer is refused.
        with pytest.raises(StripeLinkRefused):
            link_existing(api.ctx.sessions, plain, sid_a, cus_a, "sub_of_someone", NOW)
        with api.ctx.sessions() as s:
            assert (s.get_one(Subscription, sid_a).stripe_customer_id, store.customer_account(s, cus_a)) == (cus_a, a)
            assert s.get_one(Subscription, sid_b).stripe_customer_id == cus_b


# --- migration 0004 on a store that was attacked before it ---------------------------------------------


def test_migration_keeps_the_first_owner_of_duplicated_stripe_ids(store_url: str) -> None:
    engine = make_engine(store_url)
    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003")
    t0 = "2026-06-01 00:00:00+00:00"
    t1 = "2026-06-02 00:00:00+00:00"
    rows = [
        # victim B, mirrored first; attacker A copied B's ids later; A also had an older canceled row
        ("msub_b", "org_b", "active", "cus_B", "sub_B", t0),
        ("msub_a0", "org_a", "canceled", None, None, t0),
        ("msub_a1", "org_a", "active", "cus_B", "sub_B", t1),
    ]
    with engine.begin() as conn:
        for org in ("org_a", "org_b"):
            conn.execute(
                text("INSERT INTO organizations (id, name, created_at, updated_at) VALUES (:id, :id, :t, :t)"),
                {"id": org, "t": t0},
            )
        for sid, account, st, cus, sub, at in rows:
            conn.execute(
                insert(Subscription.__table__).values(  # type: ignore[arg-type]
                    id=sid,
                    organization_id=account,
                    account_id=account,
                    account_kind="org",
                    anchor=datetime(2026, 6, 1).date(),
                    tier="standard",
                    interval="month",
                    status=st,
                    stripe_customer_id=cus,
                    stripe_subscription_id=sub,
                    created_at=datetime.fromisoformat(at),
                    updated_at=datetime.fromisoformat(at),
                )
            )
    migrate(engine)
    with engine.connect() as conn:
        got = conn.execute(
            text(
                "SELECT id, stripe_customer_id, stripe_subscription_id, open_account_id FROM subscriptions ORDER BY id"
            )
        ).all()
        owners = conn.execute(text("SELECT stripe_customer_id, account_id FROM stripe_customers")).all()
    assert [tuple(r) for r in got] == [
        ("msub_a0", None, None, None),
        ("msub_a1", None, None, "org_a"),
        ("msub_b", "cus_B", "sub_B", "org_b"),
    ]
    assert [tuple(r) for r in owners] == [("cus_B", "org_b")]
    engine.dispose()


def test_the_accounts_an_invoice_names_in_every_shape() -> None:
    from streams.api.routes.webhooks import _named_accounts

    meta = {"metadata": {"account_id": "org_b"}}
    assert _named_accounts({"metadata": {"account_id": "org_a"}}) == {"org_a"}
    assert _named_accounts({"parent": {"subscription_details": meta}}) == {"org_b"}
    assert _named_accounts({"subscription_details": meta, "metadata": {"account_id": "org_a"}}) == {"org_a", "org_b"}
    assert _named_accounts({"customer": {"id": "cus_1", **meta}, "subscription": "sub_1"}) == {"org_b"}
    assert _named_accounts({"subscription": {"id": "sub_1", **meta}, "metadata": {}}) == {"org_b"}
    assert _named_accounts({"metadata": {"account_id": ""}, "parent": None, "customer": "cus_1"}) == set()


async def test_the_mirror_never_changes_a_stripe_subscription_of_another_account(
    make_api: Callable[..., Any], stack_settings: Settings
) -> None:
    recorder = StripeRecorder(load_catalog().at(NOW))
    async with make_api(now=NOW) as api:
        a = await api.org("alice", "A")
        ha = api.as_user("alice", a)
        sid = (await create(api, ha)).json()["id"]
        relay = mirror_relay(api, recorder)
        assert await relay.drain() == 1
        # A Stripe subscription made for another account (org_b), stored on A's row by a mistake of old.
        client = recorder.client(stack_settings.resolved_stripe_api_base)
        cus = str(stored(api, sid).stripe_customer_id)
        foreign = client.v1.subscriptions.create(
            params={"customer": cus, "items": [{"price": "price_x"}], "metadata": {"account_id": "org_b"}}
        ).id
        with api.ctx.sessions.begin() as s:
            s.get_one(Subscription, sid).stripe_subscription_id = foreign
        posts_before = len(recorder.posts(f"/v1/subscriptions/{foreign}"))
        r = await api.client.post(f"{BASE}/{sid}/cancel", headers=ha)
        assert r.status_code == 200
        assert await relay.drain() == 0
        assert "is account org_b's, not" in (relay.last_error or "")
        assert len(recorder.posts(f"/v1/subscriptions/{foreign}")) == posts_before
        assert recorder.subs[foreign]["cancel_at_period_end"] is False
