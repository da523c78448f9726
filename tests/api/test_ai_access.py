"""The approval workflow of AI controls (issue 17 item 4): once an organization requires approval, a member's AI
use is refused with ``approval_required`` in the entitlement answer until an owner or admin approves what they
asked for; a denial or a revocation keeps or makes it refused; each step is in the audit log and the member is
emailed the decision (their invitation named an email). The attackers — the member approving their own request,
a viewer, another organization's owner, a request id used through another organization — are refused. The
gateways' local check (the SDK) follows within seconds through ``billing.quota-state``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from schemas.sdk import LocalEntitlement
from streams.notify.email import render
from streams.notify.outbox import billing_recipient
from streams.store.models import NoticeRow
from tests.api.test_ai_caps import JUNE, allowed
from tests.api.test_sdk_ai_controls import local_check
from tests.api.test_sdk_entitlements import _until

pytestmark = pytest.mark.integration
ORGS = "/api/billing/organizations"


async def test_requests_are_approved_denied_revoked_and_enforced(make_api: Callable[..., Any]) -> None:
    async with make_api(now=JUNE) as api:
        c = api.client
        org = await api.org("ann", name="A", members={"ada": "admin", "vic": "viewer", "sam": "member"})
        owner = api.as_user("ann", org)
        r = await c.patch(f"{ORGS}/{org}", json={"billing_email": "ai-admins@a.test"}, headers=owner)
        assert r.status_code == 200, r.text
        r = await c.post(
            f"{ORGS}/{org}/invitations", json={"user_id": "mel", "role": "member", "email": "mel@a.test"}, headers=owner
        )
        assert (
            await c.post(f"/api/billing/invitations/{r.json()['id']}/accept", headers=api.as_user("mel"))
        ).status_code == 200
        other = await api.org("mallory", name="B")
        await api.subscribe(org, "ann", tier="standard")
        gateway = await api.key(org, "ann", "member")
        mel, ada, vic = api.as_user("mel", org), api.as_user("ada", org), api.as_user("vic", org)
        base = f"{ORGS}/{org}/ai-access-requests"
        gpt = {"user_id": "mel", "provider": "openai", "model": "gpt-4o"}

        assert await allowed(api, org, gateway, "deep_research", user_id="mel") == (True, None)
        r = await c.put(f"{ORGS}/{org}/ai-controls", json={"approval_required": True}, headers=owner)
        assert r.status_code == 200, r.text
        # At once: every AI use of every member, not other use.
        assert await allowed(api, org, gateway, "deep_research", user_id="mel") == (False, "approval_required")
        assert await allowed(api, org, gateway, "ai_requests", **gpt) == (False, "approval_required")
        assert await allowed(api, org, gateway, "api_calls", user_id="mel") == (True, None)
        listed = (await c.get(base, headers=mel)).json()
        assert listed["approval_required"] is True and listed["scope"] == "self"
        assert (
            "deep_research" in listed["features"]
            and {"provider": "openai", "models": ["gpt-4o", "gpt-4o-mini"]} in listed["models"]
        )

        # mel asks for deep research and for gpt-4o; a second ask of the same is refused.
        r = await c.post(base, json={"feature": "deep_research", "reason": "market study"}, headers=mel)
        assert r.status_code == 201, r.text
        research = r.json()
        assert (research["user_id"], research["status"], research["feature"]) == ("mel", "pending", "deep_research")
        assert (await c.post(base, json={"feature": "deep_research"}, headers=mel)).json()["error"][
            "code"
        ] == "already_pending"
        gpt_req = (await c.post(base, json={"provider": "openai", "model": "gpt-4o"}, headers=mel)).json()
        sam_req = (await c.post(base, json={"feature": "ai_requests"}, headers=api.as_user("sam", org))).json()
        for bad, code in (
            ({"feature": "teleport"}, "unknown_feature"),
            ({"provider": "acme-ai"}, "unknown_provider"),
            ({"feature": "deep_research", "provider": "openai"}, "invalid_request"),
            ({}, "invalid_request"),
        ):
            r = await c.post(base, json=bad, headers=mel)
            assert (r.status_code, r.json()["error"]["code"]) == (422, code), bad
        assert (
            await c.post(base, json={"feature": "ai_requests"}, headers=gateway)
        ).status_code == 403  # a key is no one

        # Who sees what: mel her own only; the viewer and the admin everyone's; another organization nothing.
        assert {x["user_id"] for x in (await c.get(base, headers=mel)).json()["requests"]} == {"mel"}
        assert (await c.get(base, params={"user_id": "sam"}, headers=mel)).status_code == 403
        pending = (await c.get(base, params={"status": "pending"}, headers=vic)).json()
        assert pending["scope"] == "organization" and len(pending["requests"]) == 3
        assert (await c.get(base, headers=api.as_user("mallory", other))).status_code == 404

        # The attackers cannot decide: mel her own, the viewer, another organization's owner (directly, or with
        # the stolen id through their own organization).
        approve = f"{base}/{research['id']}/approve"
        assert (await c.post(approve, headers=mel)).status_code == 403
        assert (await c.post(approve, headers=vic)).status_code == 403
        assert (await c.post(approve, headers=api.as_user("mallory", other))).status_code == 404
        stolen = f"{ORGS}/{other}/ai-access-requests/{research['id']}/approve"
        assert (await c.post(stolen, headers=api.as_user("mallory", other))).status_code == 404
        assert (await c.post(f"{base}/air_{'0' * 24}/approve", headers=ada)).status_code == 404
        assert await allowed(api, org, gateway, "deep_research", user_id="mel") == (False, "approval_required")

        # The admin approves deep research: mel may use it at once; sam not.
        r = await c.post(approve, json={"note": "for the study"}, headers=ada)
        assert r.status_code == 200, r.text
        assert (r.json()["status"], r.json()["decided_by"], r.json()["note"]) == (
            "approved",
            "user:ada",
            "for the study",
        )
        assert await allowed(api, org, gateway, "deep_research", user_id="mel") == (True, None)
        assert await allowed(api, org, gateway, "deep_research", user_id="sam") == (False, "approval_required")
        assert (await c.post(approve, headers=ada)).status_code == 409  # decided once
        # deep research with a model names the model too: gpt-4o is not approved yet.
        assert await allowed(api, org, gateway, "deep_research", **gpt) == (False, "approval_required")

        # The owner denies gpt-4o: still refused; sam's general AI requests approved: any model.
        r = await c.post(f"{base}/{gpt_req['id']}/deny", json={"note": "use gpt-4o-mini"}, headers=owner)
        assert r.json()["status"] == "denied"
        assert await allowed(api, org, gateway, "ai_requests", **gpt) == (False, "approval_required")
        assert (await c.post(f"{base}/{sam_req['id']}/approve", headers=owner)).status_code == 200
        assert await allowed(api, org, gateway, "ai_requests", user_id="sam", provider="anthropic") == (True, None)
        # Revoked: refused again.
        assert (await c.post(f"{base}/{research['id']}/revoke", headers=owner)).json()["status"] == "revoked"
        assert await allowed(api, org, gateway, "deep_research", user_id="mel") == (False, "approval_required")
        assert (await c.post(f"{base}/{gpt_req['id']}/revoke", headers=owner)).status_code == 409  # not approved
        # sam leaves and is invited again: the approval of the former membership does not come back.
        assert (await c.delete(f"{ORGS}/{org}/members/sam", headers=owner)).status_code == 204
        api.clock.advance(timedelta(minutes=5))
        await api.join(org, "sam", "member", owner)
        assert await allowed(api, org, gateway, "ai_requests", user_id="sam", provider="anthropic") == (
            False,
            "approval_required",
        )
        # Off again: everyone as before.
        assert (await c.put(f"{ORGS}/{org}/ai-controls", json={}, headers=owner)).status_code == 200
        assert await allowed(api, org, gateway, "ai_requests", **gpt) == (True, None)

        log = (await c.get(f"{ORGS}/{org}/audit", params={"limit": 100}, headers=owner)).json()["entries"]
        steps = [(e["action"], e["actor"], e["target"]) for e in reversed(log) if e["action"].startswith("ai_access.")]
        assert steps == [
            ("ai_access.requested", "user:mel", research["id"]),
            ("ai_access.requested", "user:mel", gpt_req["id"]),
            ("ai_access.requested", "user:sam", sam_req["id"]),
            ("ai_access.approved", "user:ada", research["id"]),
            ("ai_access.denied", "user:ann", gpt_req["id"]),
            ("ai_access.approved", "user:ann", sam_req["id"]),
            ("ai_access.revoked", "user:ann", research["id"]),
        ]
        # mel is told each decision by email (the address of her invitation); sam's invitation named none.
        with api.ctx.sessions() as s:
            notices = [
                (n.kind, n.recipient, n.context["decision"])
                for n in s.scalars(
                    select(NoticeRow).where(NoticeRow.kind == "ai_access_decided").order_by(NoticeRow.id)
                )
            ]
        assert notices == [
            ("ai_access_decided", "mel@a.test", "approved"),
            ("ai_access_decided", "mel@a.test", "denied"),
            ("ai_access_decided", "mel@a.test", "revoked"),
        ]
        # Each request is told to whoever decides, at the organization's address (one email per request).
        with api.ctx.sessions() as s:
            asked = [
                (n.recipient, n.context["member"], n.context["what"], n.context["reason"])
                for n in s.scalars(
                    select(NoticeRow).where(NoticeRow.kind == "ai_access_requested").order_by(NoticeRow.id)
                )
            ]
            assert billing_recipient(s, org) == "ai-admins@a.test"
        assert [a[1:] for a in asked] == [
            ("mel", "deep_research", "market study"),
            ("mel", "openai/gpt-4o", None),
            ("sam", "AI requests (any allowed model)", None),
        ]
        assert {a[0] for a in asked} == {"ai-admins@a.test"}
        context = {"account_id": org, **dict(zip(("member", "what", "reason"), asked[0][1:], strict=True))}
        subject, text, _ = render("ai_access_requested", context)
        assert subject == "mel asks to use deep_research"
        assert "Their reason: market study" in text and "AI access approvals" in text


async def test_an_approval_reaches_the_local_check(make_api: Callable[..., Any], store_url: str) -> None:
    if not store_url.startswith("sqlite"):
        pytest.skip("the SDK reads Kafka only: one store is enough")
    async with make_api(now=JUNE, kafka=True, run_relay=True) as api:
        c = api.client
        org = await api.org("ann", name="Local", members={"mel": "member"})
        await api.subscribe(org, "ann", tier="standard")
        owner, mel = api.as_user("ann", org), api.as_user("mel", org)
        async with local_check(api, org) as cache:

            def local(**params: str) -> tuple[bool, str | None] | None:
                answer: LocalEntitlement | None = cache.check(org, "ai_requests", **params)
                return None if answer is None else (answer.allowed, answer.reason)

            await _until(lambda: local(user_id="mel") == (True, None), "the SDK has the metric")
            assert (
                await c.put(f"{ORGS}/{org}/ai-controls", json={"approval_required": True}, headers=owner)
            ).status_code == 200
            await _until(lambda: local(user_id="mel", provider="openai") == (False, "approval_required"), "the switch")
            r = await c.post(f"{ORGS}/{org}/ai-access-requests", json={"provider": "openai"}, headers=mel)
            assert r.status_code == 201, r.text
            assert (
                await c.post(f"{ORGS}/{org}/ai-access-requests/{r.json()['id']}/approve", headers=owner)
            ).status_code == 200
            # Any OpenAI model for mel, locally as by the API; another provider, or no provider, still not.
            await _until(
                lambda: local(user_id="mel", provider="openai", model="gpt-4o") == (True, None), "the approval"
            )
            assert local(user_id="mel", provider="anthropic") == (False, "approval_required")
            assert local(user_id="mel") == (False, "approval_required")
