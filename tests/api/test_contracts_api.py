"""Enterprise contracts over HTTP: platform operators write them, the account's owners and admins read them,
members, viewers, other organizations and API keys cannot; the contract rides in the subscription versions
and a later change of the subscription keeps it (docs/security.md, "Platform operators")."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from rating.subscriptions import SubscriptionHistory, SubscriptionVersion
from streams.cli.main import main
from streams.store.models import SubscriptionVersionRow
from tests.support.api import Api

pytestmark = pytest.mark.integration
NOW = datetime(2026, 6, 10, 12, tzinfo=UTC)
BASE = "/api/billing/subscriptions"
CONTRACT = {
    "seats": {"mode": "graduated", "tiers": [{"up_to": "100", "unit_amount": "50"}, {"unit_amount": "40"}]},
    "platform_fee": {"month": "1500"},
    "addons": {"advanced_analytics": "1500"},
}


def written(api: Api) -> list[SubscriptionVersion]:
    """The versions the store committed for its outbox, in order (what the relay publishes)."""
    with api.ctx.sessions() as s:
        rows = s.scalars(select(SubscriptionVersionRow.record).order_by(SubscriptionVersionRow.id))
        return [SubscriptionVersion.model_validate(r) for r in rows]


def operator(api: Api, claim: object = True, org: str | None = None) -> dict[str, str]:
    return api.as_operator(claim, org)


async def test_operators_write_admins_read_nobody_else(make_api: Callable[..., Any]) -> None:
    async with make_api(now=NOW) as api:
        org = await api.org("olga", members={"ada": "admin", "mel": "member", "vic": "viewer"})
        other = await api.org("eve", name="Other")
        owner = api.as_user("olga", org)
        r = await api.client.post(f"{BASE}/create", json={"tier": "enterprise"}, headers=owner)
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
        url = f"{BASE}/{sid}/contract"

        # Nobody but an operator writes: not the owner, an admin, an admin key, a member, another org.
        admin_key = await api.key(org, "olga", "admin")
        for headers, status in [
            (owner, 403),
            (api.as_user("olga"), 403),  # the owner's token without org
            (api.as_user("ada", org), 403),
            (admin_key, 403),
            (api.as_user("mel", org), 403),
            (api.as_user("vic", org), 403),
            (api.as_user("eve", other), 404),
            (await api.key(other, "eve", "admin"), 404),
            (operator(api, claim="true"), 404),  # only the JSON true makes an operator
            (operator(api, claim=1), 404),
            ({"authorization": f"Bearer {api.token('ops-1', secret='not-the-platform-secret-x' * 2)}"}, 401),
        ]:
            r = await api.client.put(url, json={"contract": CONTRACT}, headers=headers)
            assert r.status_code == status, (headers, r.text)
        assert "contract" not in r.json()
        assert [v.contract for v in written(api)] == [None]  # the create only

        r = await api.client.put(url, json={"contract": CONTRACT}, headers=operator(api))
        assert r.status_code == 200, r.text
        assert r.json()["change"] == "contract"
        assert r.json()["effective_from"] == "2026-06-10T12:00:00Z"
        assert r.json()["contract"]["seats"]["mode"] == "graduated"
        # The version it published carries the contract, from now on.
        last = written(api)[-1]
        assert last.effective_from == NOW and last.contract is not None
        assert last.contract.platform_fee == {"month": 1500}

        # Owners and admins (and their keys) read it; members, viewers and others cannot.
        for headers, status in [
            (owner, 200),
            (api.as_user("olga"), 200),
            (api.as_user("ada", org), 200),
            (admin_key, 200),
            (operator(api), 200),
            (api.as_user("mel", org), 403),
            (api.as_user("vic", org), 403),
            (api.as_user("eve", other), 404),
            (api.as_user("eve"), 404),
        ]:
            r = await api.client.get(url, headers=headers)
            assert r.status_code == status, (headers, r.text)
            if status == 200:
                assert r.json()["contract"]["addons"] == {"advanced_analytics": "1500"}

        # A later change through the API keeps the contract (issue 15: it used to publish without it).
        api.clock.advance(timedelta(days=3))
        r = await api.client.put(f"{BASE}/{sid}", json={"interval": "year"}, headers=owner)
        assert r.status_code == 200, r.text
        assert written(api)[-1].contract == last.contract
        assert written(api)[-1].effective_from == datetime(2026, 7, 10, tzinfo=UTC)  # a year from the period end

        # Unknown metrics or add-ons are refused, and so is a malformed contract; nothing is published.
        before = len(written(api))
        for bad in [
            {"metrics": {"api_callz": {"unit_price": "1"}}},
            {"addons": {"gold_plating": "1"}},
            {"seats": {"mode": "stepped", "tiers": [{"unit_amount": "1"}]}},
        ]:
            r = await api.client.put(url, json={"contract": bad}, headers=operator(api))
            assert r.status_code == 422, r.text
        assert len(written(api)) == before

        # Clearing it: back to the catalog's tier from now on; the history keeps what was.
        r = await api.client.put(url, json={"contract": None}, headers=operator(api))
        assert r.status_code == 200 and r.json()["contract"] is None
        assert written(api)[-1].contract is None
        # Each instant is rated under the version in effect then: the contract from its put to its clearing,
        # including the scheduled yearly version, which the clearing rewrote without it.
        history = SubscriptionHistory(org, written(api))
        in_effect = {
            t: (v.contract is not None, v.interval)
            for t in (NOW - timedelta(seconds=1), NOW, NOW + timedelta(days=3), datetime(2026, 7, 11, tzinfo=UTC))
            if (v := history.at(t)) is not None
        }
        assert in_effect == {
            NOW: (True, "month"),
            NOW + timedelta(days=3): (False, "month"),
            datetime(2026, 7, 11, tzinfo=UTC): (False, "year"),
        }


async def test_an_unknown_subscription_is_404_even_for_an_operator(make_api: Callable[..., Any]) -> None:
    async with make_api(now=NOW) as api:
        r = await api.client.put(
            f"{BASE}/msub_0123456789abcdef/contract", json={"contract": CONTRACT}, headers=operator(api)
        )
        assert r.status_code == 404


async def test_the_cli_writes_through_the_same_store(
    make_api: Callable[..., Any],
    store_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with make_api(now=NOW) as api:
        org = await api.org("olga")
        owner = api.as_user("olga", org)
        r = await api.client.post(f"{BASE}/create", json={"tier": "enterprise"}, headers=owner)
        sid = r.json()["id"]
        monkeypatch.setenv("METERLINE_API_DATABASE_URL", store_url)
        bad = tmp_path / "bad.json"
        bad.write_bytes(orjson.dumps({"addons": {"gold_plating": "1"}}))
        assert main(["contracts", "put", "--subscription", sid, "--file", str(bad)]) == 2
        assert "unknown to the catalog: gold_plating" in capsys.readouterr().err
        good = tmp_path / "contract.json"
        good.write_bytes(orjson.dumps(CONTRACT))
        assert main(["contracts", "put", "--subscription", sid, "--file", str(good)]) == 0
        capsys.readouterr()
        assert written(api)[-1].contract is not None
        # The API reads what the CLI wrote, and a later change through the API keeps it.
        r = await api.client.get(f"{BASE}/{sid}/contract", headers=owner)
        assert r.json()["contract"]["platform_fee"] == {"month": "1500"}
        api.clock.advance(timedelta(days=1))
        r = await api.client.post(f"{BASE}/{sid}/cancel", headers=owner)
        assert r.status_code == 200, r.text
        assert written(api)[-1].status == "canceled" and written(api)[-1].contract == written(api)[-2].contract
        assert main(["contracts", "get", "--subscription", sid]) == 0
        assert orjson.loads(capsys.readouterr().out)["seats"]["mode"] == "graduated"
        assert main(["contracts", "put", "--subscription", sid, "--clear"]) == 0
        assert written(api)[-1].contract is None


async def test_a_change_scheduled_for_later_takes_effect_then_and_survives_other_changes(
    make_api: Callable[..., Any],
) -> None:
    async with make_api(now=NOW) as api:
        org = await api.org("olga")
        owner = api.as_user("olga", org)
        r = await api.client.post(f"{BASE}/create", json={"tier": "standard"}, headers=owner)
        sid = r.json()["id"]
        url = f"{BASE}/{sid}/contract"
        later = NOW + timedelta(days=5)
        r = await api.client.put(
            url, json={"contract": CONTRACT, "effective_from": "2026-06-01T00:00:00Z"}, headers=operator(api)
        )
        assert r.status_code == 422, r.text  # the past is rated already
        r = await api.client.put(
            url, json={"contract": CONTRACT, "effective_from": later.isoformat()}, headers=operator(api)
        )
        assert r.status_code == 200, r.text
        assert (r.json()["contract"], r.json()["pending_effective_from"]) == (None, "2026-06-15T12:00:00Z")
        assert r.json()["pending_contract"]["seats"]["mode"] == "graduated"

        # An upgrade before it: the upgrade's version has no contract, the scheduled one carries both.
        api.clock.advance(timedelta(days=1))
        r = await api.client.put(f"{BASE}/{sid}", json={"tier": "enterprise"}, headers=owner)
        assert r.status_code == 200, r.text
        history = SubscriptionHistory(org, written(api))
        at = {t: history.at(t) for t in (NOW, NOW + timedelta(days=1), later - timedelta(seconds=1), later)}
        assert [(v.tier, v.contract is not None) for v in at.values() if v is not None] == [
            ("standard", False),
            ("enterprise", False),
            ("enterprise", False),
            ("enterprise", True),
        ]
        # Once its time has come, it is the contract in effect, and the next change keeps it.
        api.clock.advance(timedelta(days=5))
        r = await api.client.get(url, headers=owner)
        assert r.json()["contract"]["platform_fee"] == {"month": "1500"} and r.json()["pending_contract"] is None
        r = await api.client.put(f"{BASE}/{sid}", json={"interval": "year"}, headers=owner)
        assert r.status_code == 200, r.text
        assert written(api)[-1].interval == "year" and written(api)[-1].contract is not None


async def test_a_term_renews_or_ends_on_its_date(make_api: Callable[..., Any]) -> None:
    """An auto-renewing term that ended on 2026-06-01 renewed for 12 months: its current term ends on
    2027-06-01. A term with renewal "end" on 2026-09-01 schedules its own clearing then."""
    async with make_api(now=NOW) as api:
        org = await api.org("olga")
        owner = api.as_user("olga", org)
        sid = (await api.client.post(f"{BASE}/create", json={"tier": "enterprise"}, headers=owner)).json()["id"]
        url = f"{BASE}/{sid}/contract"
        renewing = {"term": {"starts_on": "2025-06-01", "ends_on": "2026-06-01"}, "currency": "usd"}
        r = await api.client.put(url, json={"contract": renewing}, headers=api.as_operator())
        assert r.status_code == 200, r.text
        assert (r.json()["term_ends_on"], r.json()["pending_effective_from"]) == ("2027-06-01", None)
        ending = {"term": {"starts_on": "2026-06-01", "ends_on": "2026-09-01", "renewal": "end"}}
        r = await api.client.put(url, json={"contract": ending}, headers=api.as_operator())
        assert r.status_code == 200, r.text
        out = r.json()
        assert (out["term_ends_on"], out["pending_effective_from"], out["pending_contract"]) == (
            "2026-09-01",
            "2026-09-01T00:00:00Z",
            None,
        )
        history = SubscriptionHistory(org, written(api))
        sept = datetime(2026, 9, 1, tzinfo=UTC)
        assert history.at(sept - timedelta(seconds=1)).contract is not None  # type: ignore[union-attr]
        assert history.at(sept).contract is None  # type: ignore[union-attr]
        for bad in [
            {"term": {"starts_on": "2026-06-01", "ends_on": "2026-06-01"}},
            {"term": {"starts_on": "2026-06-01", "ends_on": "2027-06-01", "renewal_months": 0}},
            {"currency": "eur"},
        ]:
            r = await api.client.put(url, json={"contract": bad}, headers=api.as_operator())
            assert r.status_code == 422, (bad, r.text)


async def test_viewers_do_not_read_the_contract_through_the_subscription(make_api: Callable[..., Any]) -> None:
    """The negotiated prices are for who manages billing: a viewer (and a viewer key) reads the subscription, its
    status and versions, but no version carries the contract (it did: the versions were rendered whole)."""
    async with make_api(now=NOW) as api:
        org = await api.org("olga", members={"vic": "viewer"})
        owner = api.as_user("olga", org)
        sid = (await api.client.post(f"{BASE}/create", json={"tier": "enterprise"}, headers=owner)).json()["id"]
        r = await api.client.put(f"{BASE}/{sid}/contract", json={"contract": CONTRACT}, headers=api.as_operator())
        assert r.status_code == 200, r.text
        viewer_key = await api.key(org, "olga", "viewer")
        for headers in (api.as_user("vic", org), viewer_key, owner):
            for url in (f"{BASE}/{sid}", f"/api/billing/organizations/{org}/subscriptions", f"{BASE}?account={org}"):
                r = await api.client.get(url, headers=headers)
                assert r.status_code == 200, (url, r.text)
                assert "advanced_analytics" not in r.text and "graduated" not in r.text, (url, r.text)
        # Owners and admins read it where it lives.
        r = await api.client.get(f"{BASE}/{sid}/contract", headers=owner)
        assert r.json()["contract"]["addons"] == {"advanced_analytics": "1500"}
        assert (await api.client.get(f"{BASE}/{sid}/contract", headers=viewer_key)).status_code == 403
