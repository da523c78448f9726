"""AI controls (issue 17, item 3): owners and admins switch AI features off and limit providers and models for
the organization and per member; the entitlement answer enforces them at once (not only shows them), every
change is in the audit log, and nobody else sets or reads them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from schemas.ai_rules import decide
from streams.store.ai_controls import Rule

pytestmark = pytest.mark.integration
ORGS = "/api/billing/organizations"
ENT = "/api/billing/entitlements"
JUNE = datetime(2026, 6, 10, 12, tzinfo=UTC)


def test_decide_applies_the_organization_and_the_member() -> None:
    org = Rule(frozenset({"voice_synthesis"}), frozenset({"openai", "anthropic"}), None)
    member = Rule(frozenset({"deep_research"}), None, frozenset({"claude-3"}))
    assert decide((org,), "deep_research", None, None) is None
    assert decide((org, member), "deep_research", None, None) == "disabled_by_admin"
    assert decide((org,), "voice_synthesis", None, None) == "disabled_by_admin"
    assert decide((org, member), "ai_search", "mistral", None) == "provider_not_allowed"
    assert decide((org, member), "ai_search", "anthropic", "gpt-4") == "model_not_allowed"
    assert decide((org, member), "ai_search", "anthropic", "claude-3") is None
    assert decide((), "deep_research", "any", "any") is None


async def test_a_premium_feature_off_for_a_member_changes_the_entitlement_answer(make_api: Callable[..., Any]) -> None:
    async with make_api(now=JUNE) as api:
        c = api.client
        a = await api.org("ann", name="A", members={"mel": "member", "sam": "member"})
        await api.subscribe(a, "ann", tier="standard")
        owner = api.as_user("ann", a)
        gateway = await api.key(a, "ann", "member")

        async def allowed(feature: str, **params: str) -> tuple[bool, str | None]:
            r = await c.get(f"{ENT}/{a}/{feature}", params=params, headers=gateway)
            assert r.status_code == 200, r.text
            return r.json()["allowed"], r.json()["reason"]

        assert await allowed("deep_research", user_id="mel") == (True, None)
        r = await c.put(
            f"{ORGS}/{a}/ai-controls/members/mel", json={"disabled_features": ["deep_research"]}, headers=owner
        )
        assert r.status_code == 200, r.text
        # At once, for mel only.
        assert await allowed("deep_research", user_id="mel") == (False, "disabled_by_admin")
        assert await allowed("deep_research", user_id="sam") == (True, None)
        assert await allowed("deep_research") == (True, None)

        body = {"allowed_providers": ["anthropic"], "allowed_models": ["claude-3"], "monthly_spend_cap": "25.00"}
        r = await c.put(f"{ORGS}/{a}/ai-controls", json={**body, "cap_mode": "hard"}, headers=owner)
        assert r.status_code == 200, r.text
        assert await allowed("ai_search", provider="openai") == (False, "provider_not_allowed")
        assert await allowed("ai_search", user_id="sam", provider="anthropic", model="gpt-4") == (
            False,
            "model_not_allowed",
        )
        assert await allowed("ai_search", user_id="sam", provider="anthropic", model="claude-3") == (True, None)
        # Back on: allowed again.
        r = await c.put(f"{ORGS}/{a}/ai-controls/members/mel", json={"disabled_features": []}, headers=owner)
        assert await allowed("deep_research", user_id="mel") == (True, None)

        got = (await c.get(f"{ORGS}/{a}/ai-controls", headers=api.as_user("ann", a))).json()
        assert {"deep_research", "ai_search", "drive"} <= set(got["tier_features"])
        assert got["organization"]["allowed_providers"] == ["anthropic"]
        assert got["organization"]["monthly_spend_cap"] == "25.00" and got["organization"]["cap_mode"] == "hard"
        assert [(m["user_id"], m["disabled_features"]) for m in got["members"]] == [("mel", [])]
        log = (await c.get(f"{ORGS}/{a}/audit?action=ai_controls.changed", headers=owner)).json()["entries"]
        assert [e["target"] for e in log] == ["mel", "*", "mel"]
        assert log[0]["before"]["disabled_features"] == ["deep_research"] and log[0]["after"]["disabled_features"] == []
        assert log[2]["before"] is None


async def test_controls_are_checked_and_only_managers_set_them(make_api: Callable[..., Any]) -> None:
    async with make_api(now=JUNE) as api:
        c = api.client
        a = await api.org("ann", name="A", members={"adam": "admin", "viv": "viewer", "mel": "member"})
        b = await api.org("bea", name="B", members={"bob": "member"})
        owner = api.as_user("ann", a)
        url = f"{ORGS}/{a}/ai-controls"
        bad = [
            ({"disabled_features": ["no_such_feature"]}, "unknown_feature"),
            ({"allowed_providers": ["bad provider!"]}, "invalid_request"),
            ({"monthly_spend_cap": "-1"}, "invalid_request"),
            ({"cap_mode": "sometimes"}, "invalid_request"),
        ]
        for body, code in bad:
            r = await c.put(url, json=body, headers=owner)
            assert (r.status_code, r.json()["error"]["code"]) == (422, code), r.text
        # Another organization's member is nobody here.
        r = await c.put(f"{url}/members/bob", json={}, headers=owner)
        assert r.status_code == 404
        assert (await c.put(url, json={}, headers=api.as_user("adam", a))).status_code == 200
        for headers, status in [
            (api.as_user("viv", a), 403),
            (api.as_user("mel", a), 403),
            (await api.key(a, "ann", "viewer"), 403),
            (api.as_user("bea", b), 404),
            (await api.key(b, "bea", "admin"), 404),
            (api.as_user("eve"), 404),
            ({}, 401),
        ]:
            for path in (url, f"{url}/members/mel"):
                r = await c.put(path, json={"disabled_features": ["deep_research"]}, headers=headers)
                assert r.status_code == status, (headers, path, r.text)
        assert (await c.get(url, headers=api.as_user("viv", a))).status_code == 200
        assert (await c.get(url, headers=api.as_user("mel", a))).status_code == 403
        assert (await c.get(url, headers=api.as_user("bea", b))).status_code == 404
        # B's controls never bind A, and A's never B.
        await c.put(f"{ORGS}/{b}/ai-controls", json={"disabled_features": ["ai_search"]}, headers=api.as_user("bea", b))
        got = (await c.get(url, headers=owner)).json()["organization"]
        assert got["disabled_features"] == []
