"""The Stripe mirror of subscription changes (issue #6): the pure mapping of a change to the Stripe
Subscription it asks for, and the relay against the real stripe-mock.

stripe-mock validates every request against Stripe's OpenAPI spec but keeps no state. ``StripeRecorder``
wraps the ``stripe`` package's HTTP client: every request still goes to stripe-mock, and is recorded
(method, path, form parameters, Idempotency-Key); on top of stripe-mock's answers it keeps what Stripe
would (subscriptions with their items, status and ``cancel_at_period_end``), answers price lookups for the
prices ``sync-catalog`` makes, keeps the metadata of the customers made through it, and answers a POST
whose Idempotency-Key it has seen with the first answer, as Stripe does. Faults can be injected before
(an error status) or after (a lost answer) stripe-mock.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import stripe
from sqlalchemy import select, update

from rating.catalog.loader import load_catalog
from rating.catalog.model import CatalogVersion
from sinks.retry import RetryPolicy
from sinks.stripe.catalog_spec import desired_catalog
from sinks.stripe.subscriptions import (
    MirrorChange,
    StripeMirrorError,
    StripeSubscriptions,
    StripeTarget,
    idempotency_key,
    stripe_target,
    tier_lookup_keys,
)
from streams.settings import Settings
from streams.store.models import StripeOutboxRow, Subscription
from streams.store.relays.stripe_mirror import StripeMirrorRelay
from tests.support.api import Api, stripe_event
from tests.support.stripe_forms import Call, read_request

NOW = datetime(2026, 6, 10, 12, tzinfo=UTC)
END = datetime(2026, 7, 10, tzinfo=UTC)
BASE = "/api/billing/subscriptions"
FAST = RetryPolicy(initial=0.001, maximum=0.01, max_attempts=3)
METERED = (
    "meterline_api_calls_overage",
    "meterline_storage_overage",
    "meterline_premium_deep_research",
    "meterline_premium_document_analysis",
    "meterline_premium_voice_synthesis",
)


@pytest.fixture(scope="module")
def catalog() -> CatalogVersion:
    return load_catalog().at(NOW)


# --- the mapping (pure) ------------------------------------------------------------------------------


def change(**kw: Any) -> MirrorChange:
    fields: dict[str, Any] = {
        "subscription_id": "msub_1",
        "account_id": "org_1",
        "account_kind": "org",
        "change_no": 1,
        "reason": "create",
        "at": NOW,
        "tier": "standard",
        "interval": "month",
        "status": "active",
        "period_end": END,
    }
    return MirrorChange(**{**fields, **kw})


def test_a_standard_subscription_holds_the_base_price_and_the_metered_prices(catalog: CatalogVersion) -> None:
    target = stripe_target(change(), catalog)
    assert target == StripeTarget(
        ("meterline_standard_base_month", *METERED), "none", False, None, END, "create_prorations"
    )
    year = stripe_target(change(interval="year"), catalog)
    assert year.lookup_keys == ("meterline_standard_base_year", *METERED)
    assert year.billing_cycle_anchor is None  # Stripe's yearly cycle; Meterline's periods are monthly
    # every key is a price sync-catalog makes
    assert set(target.lookup_keys) <= {p.lookup_key for p in desired_catalog(catalog).prices}


def test_tiers_stripe_does_not_bill_by_subscription_get_none(catalog: CatalogVersion) -> None:
    assert not stripe_target(change(tier="free"), catalog).subscribed
    # invoiced (send_invoice): streams.settlement.stripe_invoicing bills them by invoice; a subscription would
    # bill twice
    assert not stripe_target(change(tier="enterprise", interval="year"), catalog).subscribed
    assert not stripe_target(change(status="canceled"), catalog).subscribed


def test_each_change_maps_to_its_stripe_terms(catalog: CatalogVersion) -> None:
    assert stripe_target(change(reason="upgrade"), catalog).proration_behavior == "create_prorations"
    pending_cancel = stripe_target(change(reason="cancel_at_period_end", cancel_at=END), catalog)
    assert pending_cancel.cancel_at_period_end and pending_cancel.proration_behavior == "none"
    assert not stripe_target(change(reason="reactivate"), catalog).cancel_at_period_end
    # a downgrade to a tier Stripe does not bill: the subscription ends with the period
    to_free = stripe_target(change(reason="downgrade", pending_tier="free", pending_at=END), catalog)
    assert to_free.cancel_at_period_end and to_free.lookup_keys[0] == "meterline_standard_base_month"
    # a downgrade between billed terms: the new prices, billed from the next renewal, nothing prorated now
    to_month = stripe_target(
        change(reason="downgrade", interval="year", pending_interval="month", pending_at=END), catalog
    )
    assert to_month.lookup_keys[0] == "meterline_standard_base_month" and to_month.proration_behavior == "none"
    assert not to_month.cancel_at_period_end
    # from an invoiced tier to a billed one at the period end: a subscription that starts billing then
    from_invoiced = stripe_target(
        change(reason="downgrade", tier="enterprise", interval="year", pending_tier="standard", pending_at=END),
        catalog,
    )
    assert from_invoiced.lookup_keys[0] == "meterline_standard_base_year"
    assert (from_invoiced.billing_cycle_anchor, from_invoiced.anchor_proration) == (END, "none")


def test_a_trial_ends_at_its_end_and_sets_the_cycle(catalog: CatalogVersion) -> None:
    trial_end = NOW + timedelta(days=14)
    target = stripe_target(change(status="trialing", trial_end=trial_end), catalog)
    assert (target.trial_end, target.billing_cycle_anchor) == (trial_end, None)
    assert stripe_target(change(trial_end=trial_end), catalog).trial_end is None  # the trial is over


def test_contract_prices_the_catalog_cannot_express_are_refused(catalog: CatalogVersion) -> None:
    same = {"payment_terms": {"collection": "charge_automatically"}}
    assert tier_lookup_keys(catalog, "standard", "month", same)[0] == "meterline_standard_base_month"
    with pytest.raises(StripeMirrorError, match=r"meterline_standard_base_month.*3999"):
        tier_lookup_keys(catalog, "standard", "month", {"base_fee": {"month": "39.99"}})
    assert tier_lookup_keys(catalog, "standard", "month", {"payment_terms": {"collection": "send_invoice"}}) == ()
    with pytest.raises(StripeMirrorError, match="not in catalog"):
        tier_lookup_keys(catalog, "platinum", "month")


def test_changes_and_keys_round_trip() -> None:
    c = change(cancel_at=END, contract={"rate_limit_per_minute": 5})
    assert MirrorChange.from_payload(json.loads(json.dumps(c.to_payload()))) == c
    key = idempotency_key("create", "org_1", "msub_1", 7, {"a": 1})
    assert key == idempotency_key("create", "org_1", "msub_1", 7, {"a": 1})
    others = [("update", "org_1", 7), ("create", "org_2", 7), ("create", "org_1", 8)]
    assert all(idempotency_key(op, acc, "msub_1", n, {"a": 1}) != key for op, acc, n in others)
    assert idempotency_key("create", "org_1", "msub_1", 7, {"a": 2}) != key


# --- a recording, stateful client in front of stripe-mock --------------------------------------------


@dataclass
class StripeRecorder(stripe.HTTPClient):
    catalog: CatalogVersion
    calls: list[Call] = field(default_factory=list)
    subs: dict[str, dict[str, Any]] = field(default_factory=dict)
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)  # made here, with their metadata
    answers: dict[str, tuple[Any, int, Any]] = field(default_factory=dict)  # Idempotency-Key -> first answer
    #: (method, path prefix) -> statuses to answer, in turn; 0 = forwarded to stripe-mock, answer lost
    faults: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    synced: bool = True  # whether sync-catalog ran (its prices answer lookups)

    def __post_init__(self) -> None:
        super().__init__()
        self.inner = stripe.new_default_http_client()
        self._items = itertools.count(1)

    name = "recorder"

    def posts(self, path: str) -> list[Call]:
        return [c for c in self.calls if c.method == "post" and c.path == path and c.status == 200]

    def client(self, base: str) -> stripe.StripeClient:
        return stripe.StripeClient("sk_test_123", base_addresses={"api": base}, http_client=self, max_network_retries=0)

    def request(
        self, method: str, url: str, headers: Any, post_data: Any = None, *, _usage: Any = None
    ) -> tuple[Any, int, Any]:
        path, params, key = read_request(method, url, headers, post_data)
        fault = next((f for (m, p), f in self.faults.items() if m == method and path.startswith(p) and f), None)
        if fault is not None and fault[0] != 0:
            status = fault.pop(0)
            self.calls.append(Call(method, path, params, key, status))
            return json.dumps({"error": {"message": "injected", "type": "api_error"}}), status, {}
        if method == "post" and key in self.answers:
            self.calls.append(Call(method, path, params, key, 200))
            content, status, rheaders = self.answers[key]
        else:
            content, status, rheaders = self.inner.request(method, url, headers, post_data)
            self.calls.append(Call(method, path, params, key, status))
            if status == 200:
                content = self._stateful(method, path, params, json.loads(content))
            if method == "post" and key and status == 200:
                self.answers[key] = (content, status, rheaders)
        if fault is not None:  # the request reached Stripe; its answer never comes back
            fault.pop(0)
            raise stripe.APIConnectionError("injected: the answer was lost")
        return content, status, rheaders

    def _stateful(self, method: str, path: str, params: dict[str, Any], answer: dict[str, Any]) -> str:
        if method == "get" and path == "/v1/prices":
            known = {p.lookup_key for p in desired_catalog(self.catalog).prices} if self.synced else set()
            keys = [k for k in params.get("lookup_keys", []) if k in known]
            data = [{**answer["data"][0], "id": f"price_{k}", "lookup_key": k, "active": True} for k in keys]
            return json.dumps({**answer, "data": data})
        if method == "get" and path == "/v1/subscriptions":
            data = [s for s in self.subs.values() if s["customer"] == params.get("customer")]
            return json.dumps({**answer, "data": data, "has_more": False})
        c = re.fullmatch(r"/v1/customers(?:/([^/]+))?", path)
        if c is not None:
            if c.group(1) is None and method == "post":
                self.customers[answer["id"]] = {**answer, "metadata": params.get("metadata", {})}
            return json.dumps(self.customers.get(c.group(1) or answer["id"], answer))
        m = re.fullmatch(r"/v1/subscriptions(?:/([^/]+))?", path)
        if m is None:
            return json.dumps(answer)
        sub_id = m.group(1)
        if sub_id is None and method == "post":  # create
            sub = {**answer, "customer": params["customer"], "metadata": params.get("metadata", {})}
            sub["status"] = "trialing" if "trial_end" in params else "active"
            sub["cancel_at_period_end"] = params.get("cancel_at_period_end") == "true"
            sub["items"] = {"object": "list", "data": []}
            self._apply_items(sub, params.get("items", []))
            self.subs[sub["id"]] = sub
            return json.dumps(sub)
        sub = self.subs.get(sub_id or "")
        if sub is None:
            return json.dumps(answer)
        if method == "post":
            if "cancel_at_period_end" in params:
                sub["cancel_at_period_end"] = params["cancel_at_period_end"] == "true"
            self._apply_items(sub, params.get("items", []))
        elif method == "delete":
            sub["status"] = "canceled"
        return json.dumps(sub)

    def _apply_items(self, sub: dict[str, Any], items: list[dict[str, Any]]) -> None:
        data = sub["items"]["data"]
        gone = {i["id"] for i in items if i.get("deleted") == "true"}
        data[:] = [i for i in data if i["id"] not in gone]
        for i in items:
            if "price" in i:
                data.append(
                    {"id": f"si_{next(self._items)}", "object": "subscription_item", "price": {"id": i["price"]}}
                )

    def prices_of(self, sub_id: str) -> list[str]:
        return [i["price"]["id"].removeprefix("price_") for i in self.subs[sub_id]["items"]["data"]]


@pytest.fixture
def recorder(catalog: CatalogVersion) -> StripeRecorder:
    return StripeRecorder(catalog)


def mirror_relay(api: Api, rec: StripeRecorder) -> StripeMirrorRelay:
    """A relay of its own (what a restarted process builds), with fast retries."""
    base = api.settings.resolved_stripe_api_base
    stripe_calls = StripeSubscriptions(rec.client(base), policy=FAST, sleep=lambda _: None)
    return StripeMirrorRelay(api.ctx.sessions, stripe_calls, api.ctx.catalog, clock=api.clock)


def stored(api: Api, sid: str) -> Subscription:
    with api.ctx.sessions() as s:
        row = s.get(Subscription, sid)
        assert row is not None
        return row


def stripe_rows(api: Api) -> list[StripeOutboxRow]:
    with api.ctx.sessions() as s:
        return list(s.scalars(select(StripeOutboxRow).order_by(StripeOutboxRow.id)))


def pending(api: Api) -> list[StripeOutboxRow]:
    return [r for r in stripe_rows(api) if r.sent_at is None]


# --- the relay against stripe-mock -------------------------------------------------------------------


@pytest.mark.integration
async def test_the_lifecycle_is_mirrored(
    make_api: Callable[..., Any], recorder: StripeRecorder, stack_settings: Settings
) -> None:
    client = recorder.client(stack_settings.resolved_stripe_api_base)
    async with make_api(now=NOW, stripe_client=client) as api:
        mirror: StripeMirrorRelay = api.app.state.stripe_mirror  # the app's own, driven by hand
        org = await api.org("sam")
        h = api.as_user("sam", org)
        r = await api.client.post(f"{BASE}/create", json={"tier": "standard"}, headers=h)
        sid = r.json()["id"]
        assert r.json()["stripe_customer_id"] is None  # the API answers before Stripe is called
        assert [row.reason for row in pending(api)] == ["create"]
        assert await mirror.drain() == 1

        # create: one customer (metadata account_id), one subscription on the tier's prices
        (customer,) = recorder.posts("/v1/customers")
        assert customer.params["metadata"]["account_id"] == org
        (created,) = recorder.posts("/v1/subscriptions")
        assert created.params["customer"] == stored(api, sid).stripe_customer_id
        assert [i["price"] for i in created.params["items"]] == [
            f"price_{k}" for k in ("meterline_standard_base_month", *METERED)
        ]
        assert created.params["billing_cycle_anchor"] == str(int(END.timestamp()))
        assert created.params["proration_behavior"] == "create_prorations"
        assert created.params["metadata"] == {"meterline_subscription_id": sid, "account_id": org}
        assert created.idempotency_key and created.idempotency_key.startswith("meterline-sub-create-")
        row = stored(api, sid)
        sub_id = row.stripe_subscription_id
        assert sub_id in recorder.subs and row.stripe_customer_id and row.stripe_customer_id.startswith("cus_")

        # the ids reach billing.subscriptions in a version of their own, through the Kafka outbox
        await api.app.state.relay.drain()
        last = api.published[-1]
        assert (last.stripe_customer_id, last.stripe_subscription_id) == (row.stripe_customer_id, sub_id)
        assert (last.tier, last.status) == ("standard", "active")
        r = await api.client.get(f"{BASE}/{sid}", headers=h)
        assert (r.json()["stripe_customer_id"], r.json()["stripe_subscription_id"]) == (row.stripe_customer_id, sub_id)

        # upgrade (month -> year): the prices swapped at once, prorated
        api.clock.advance(timedelta(days=5))
        r = await api.client.put(f"{BASE}/{sid}", json={"interval": "year"}, headers=h)
        assert r.json()["change"] == "upgrade"
        assert await mirror.drain() == 1
        upgrade = recorder.posts(f"/v1/subscriptions/{sub_id}")[-1]
        assert upgrade.params["proration_behavior"] == "create_prorations"
        assert upgrade.params["cancel_at_period_end"] == "false"
        assert recorder.prices_of(str(sub_id)) == [*METERED, "meterline_standard_base_year"]

        # cancel at the period end, then reactivate
        await api.client.post(f"{BASE}/{sid}/cancel", headers=h)
        assert await mirror.drain() == 1
        assert recorder.subs[str(sub_id)]["cancel_at_period_end"] is True
        cancel = recorder.posts(f"/v1/subscriptions/{sub_id}")[-1]
        assert (cancel.params["cancel_at_period_end"], cancel.params["proration_behavior"]) == ("true", "none")
        assert "items" not in cancel.params  # the prices stay
        await api.client.post(f"{BASE}/{sid}/reactivate", headers=h)
        assert await mirror.drain() == 1
        assert recorder.subs[str(sub_id)]["cancel_at_period_end"] is False

        # cancel now
        await api.client.delete(f"{BASE}/{sid}", headers=h)
        assert await mirror.drain() == 1
        assert [c.method for c in recorder.calls if c.path == f"/v1/subscriptions/{sub_id}"][-1] == "delete"
        assert recorder.subs[str(sub_id)]["status"] == "canceled"

        # every change mirrored once, one customer for the account; replayed, nothing new is created
        assert all(r.sent_at is not None and r.last_error is None for r in stripe_rows(api))
        assert len(recorder.posts("/v1/customers")) == 1 and len(recorder.posts("/v1/subscriptions")) == 1
        # a new subscription of the same account keeps its customer and gets a new Stripe subscription
        r = await api.client.post(f"{BASE}/create", json={"tier": "standard"}, headers=h)
        assert await mirror.drain() == 1
        again = stored(api, r.json()["id"])
        assert again.stripe_customer_id == row.stripe_customer_id
        assert len(recorder.posts("/v1/customers")) == 1 and len(recorder.posts("/v1/subscriptions")) == 2
        assert again.stripe_subscription_id != sub_id


@pytest.mark.integration
async def test_free_and_invoiced_tiers_get_a_customer_and_no_subscription(
    make_api: Callable[..., Any], recorder: StripeRecorder
) -> None:
    async with make_api(now=NOW) as api:
        org = await api.org("fay")
        h = api.as_user("fay", org)
        r = await api.client.post(f"{BASE}/create", json={"tier": "free"}, headers=h)
        sid = r.json()["id"]
        relay = mirror_relay(api, recorder)
        assert await relay.drain() == 1
        assert len(recorder.posts("/v1/customers")) == 1 and recorder.posts("/v1/subscriptions") == []
        assert stored(api, sid).stripe_subscription_id is None
        # free -> standard: the Stripe subscription is made now
        api.clock.advance(timedelta(days=3))
        await api.client.put(f"{BASE}/{sid}", json={"tier": "standard"}, headers=h)
        assert await relay.drain() == 1
        sub_id = stored(api, sid).stripe_subscription_id
        assert sub_id in recorder.subs
        # standard -> enterprise (invoiced by stripe_invoicing): the Stripe subscription is canceled
        await api.client.put(f"{BASE}/{sid}", json={"tier": "enterprise", "interval": "year"}, headers=h)
        assert await relay.drain() == 1
        assert recorder.subs[str(sub_id)]["status"] == "canceled"
        assert stored(api, sid).stripe_subscription_id == sub_id  # kept: late invoice webhooks still map


@pytest.mark.integration
async def test_a_crash_between_the_commit_and_stripe_loses_nothing(
    make_api: Callable[..., Any], recorder: StripeRecorder
) -> None:
    async with make_api(now=NOW) as api:
        org = await api.org("cruz")
        h = api.as_user("cruz", org)
        r = await api.client.post(f"{BASE}/create", json={"tier": "standard", "trial_days": 14}, headers=h)
        sid = r.json()["id"]
        await api.client.post(f"{BASE}/{sid}/cancel", headers=h)
        assert [row.reason for row in pending(api)] == ["create", "cancel_at_period_end"]
        # the process "dies" here: committed, not mirrored

    async with make_api(now=NOW) as api:  # a fresh instance on the same store
        # Stripe makes the subscription but its answer is lost, every attempt: the row fails, and keeps
        # the customer made before, so the retry does not make another.
        recorder.faults[("post", "/v1/subscriptions")] = [0, 0, 0]
        relay = mirror_relay(api, recorder)
        assert await relay.drain() == 0
        first, second = pending(api)
        assert first.attempts == 1 and "lost" in (first.last_error or "") and first.next_attempt_at is not None
        assert second.attempts == 0  # held behind the failed one: per-account order
        customer = stored(api, sid).stripe_customer_id
        assert customer is not None
        assert await relay.drain() == 0  # backing off

        api.clock.advance(timedelta(minutes=5))
        assert await relay.drain() == 2
        assert pending(api) == []
        # the create was sent three times with one key (Stripe applies it once); the retry then found the
        # subscription it made among the customer's (metadata) and did not create another
        creates = [c for c in recorder.calls if c.method == "post" and c.path == "/v1/subscriptions"]
        assert len(creates) == 3 and len({c.idempotency_key for c in creates}) == 1
        (made,) = recorder.posts("/v1/customers")
        assert made.status == 200 and stored(api, sid).stripe_customer_id == customer
        sub_id = stored(api, sid).stripe_subscription_id
        assert creates[-1].params["trial_end"] == str(int((NOW + timedelta(days=14)).timestamp()))
        assert "billing_cycle_anchor" not in creates[-1].params
        assert recorder.subs[str(sub_id)]["cancel_at_period_end"] is True

        # replayed (a relay that died before marking them): no second customer, no second subscription
        with api.ctx.sessions.begin() as s:
            s.execute(update(StripeOutboxRow).values(sent_at=None))
        assert await relay.drain() == 2
        assert len(recorder.posts("/v1/customers")) == 1
        assert len({c.params["customer"] for c in recorder.posts("/v1/subscriptions")}) == 1
        assert len(recorder.subs) == 1 and stored(api, sid).stripe_subscription_id == sub_id


@pytest.mark.integration
async def test_a_stripe_outage_holds_neither_kafka_nor_other_accounts(
    make_api: Callable[..., Any], recorder: StripeRecorder
) -> None:
    async with make_api(now=NOW) as api:
        relay = mirror_relay(api, recorder)
        subs = {}
        for owner in ("ada", "bo"):
            org = await api.org(owner)
            r = await api.client.post(f"{BASE}/create", json={"tier": "standard"}, headers=api.as_user(owner, org))
            subs[owner] = (org, r.json()["id"])
        # the first account's customer is refused (4xx) once, then Stripe answers
        recorder.faults[("post", "/v1/customers")] = [400]
        assert await relay.drain() == 1
        (failed,) = pending(api)
        assert failed.account_id == subs["ada"][0] and "refused" in (failed.last_error or "")
        assert stored(api, subs["bo"][1]).stripe_subscription_id is not None
        assert await api.app.state.relay.drain() >= 2  # Kafka publishes all the same
        assert {v.account_id for v in api.published} == {subs["ada"][0], subs["bo"][0]}

        api.clock.advance(timedelta(seconds=3))
        assert await relay.drain() == 1 and pending(api) == []
        assert stored(api, subs["ada"][1]).stripe_subscription_id is not None

        # prices missing (sync-catalog never ran): a clear error, retried later
        recorder.synced = False
        r = await api.client.put(
            f"{BASE}/{subs['bo'][1]}", json={"interval": "year"}, headers=api.as_user("bo", subs["bo"][0])
        )
        assert r.json()["change"] == "upgrade"
        assert await relay.drain() == 0
        assert "sync-catalog" in (pending(api)[0].last_error or "")


@pytest.mark.integration
async def test_the_running_app_mirrors_and_webhooks_find_the_stored_ids(
    make_api: Callable[..., Any], recorder: StripeRecorder, stack_settings: Settings
) -> None:
    client = recorder.client(stack_settings.resolved_stripe_api_base)
    async with make_api(now=NOW, run_relay=True, stripe=True, stripe_client=client) as api:
        org = await api.org("wes")
        h = api.as_user("wes", org)
        r = await api.client.post(f"{BASE}/create", json={"tier": "standard"}, headers=h)
        sid = r.json()["id"]
        for _ in range(100):  # the commit wakes the mirror, long before its 2 s timer
            if stored(api, sid).stripe_subscription_id:
                break
            await asyncio.sleep(0.05)
        sub_id = stored(api, sid).stripe_subscription_id
        assert sub_id is not None and pending(api) == []

        created = int(NOW.timestamp())
        r = await api.webhook(stripe_event("evt_m_fail", "invoice.payment_failed", created, str(sub_id)))
        assert r.json()["outcome"] == "applied"
        r = await api.client.get(f"{BASE}/{sid}", headers=h)
        assert r.json()["status"] == "past_due"
        # Stripe told us: nothing to mirror back
        assert [row.reason for row in stripe_rows(api)] == ["create"]
