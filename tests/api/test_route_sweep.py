"""Every route of the billing API, played by another tenant (docs/security.md, "Routes and their checks").

One victim organization holds one of everything a path can name — its subscription, an add-on, a finalized
invoice with a credit note, an API key, an invitation, a webhook endpoint, an AI access request, a member — and
each route is called with the victim's ids by another organization's owner (token acting in it), its admin API
key and its owner's personal token: every answer is 404, the same as for an id that does not exist, and names
nothing of the victim's. Without credentials every route but the public ones answers 401. The sweep lists the
routes it plays against the app's own ``ENDPOINTS``, so a new route fails here until it is played."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from streams.api.app import ENDPOINTS
from streams.api.notice_attachments import invoice_pdf_attachments
from streams.api.warehouse import Warehouse
from streams.store.models import NoticeRow
from tests.support.api import CH_DB, Api
from tests.support.settled import api_settler, event_block

pytestmark = pytest.mark.integration
MAY = datetime(2026, 5, 1, tzinfo=UTC)
B = "/api/billing"
VICTIM_NAME = "Victim Holdings"


@dataclass(frozen=True)
class Victim:
    org: str
    sub: str
    addon: str
    invoice: str
    credit_note: str
    key_id: str
    invitation: str
    endpoint: str
    request: str
    member: str = "mo"


@dataclass(frozen=True)
class Probe:
    query: dict[str, str] | None = None
    body: Any = None
    expect: int = 404  # what another tenant gets


def _acct(v: Victim) -> dict[str, str]:
    return {"account": v.org}


#: Routes that name no one's data but the caller's own (checked by test_routes_of_ones_own_show_only_ones_own),
#: and the public ones.
OWN = {
    f"POST {B}/organizations",
    f"GET {B}/invitations",
    f"POST {B}/login-links",
    f"GET {B}/session",
    f"POST {B}/session/logout",
    f"GET {B}/roles",
}
PUBLIC = {f"GET {B}/plans": 200, f"POST {B}/webhooks/stripe": 400}
OWN_BODIES: dict[str, Any] = {f"POST {B}/organizations": {"name": "Mine"}}


def probes(v: Victim) -> dict[str, Probe]:
    """Each victim-scoped route with the victim's ids and a body that passes validation."""
    acct = _acct(v)
    event = {"timestamp": "2026-06-10T11:00:00Z", "user_id": v.member, "org_id": v.org, "metric": "api_calls"}
    ai = {"disabled_features": []}
    return {
        f"GET {B}/ai-mix": Probe(acct, expect=403),  # platform operators only, whatever the account
        f"GET {B}/budgets": Probe(acct),
        f"PUT {B}/budgets": Probe(acct, {"amount": "1"}),
        f"GET {B}/entitlements/{{account}}/{{feature}}": Probe(),
        f"GET {B}/forecast": Probe(acct),
        f"POST {B}/invitations/{{invitation_id}}/accept": Probe(),
        f"POST {B}/invitations/{{invitation_id}}/decline": Probe(),
        f"GET {B}/invoices": Probe(acct),
        f"GET {B}/invoices/upcoming": Probe(acct),
        f"GET {B}/invoices/{{id}}": Probe(),
        f"GET {B}/invoices/{{id}}.pdf": Probe(),
        f"GET {B}/invoices/{{id}}/credit-notes": Probe(),
        f"POST {B}/invoices/{{id}}/credit-notes": Probe(body={"amount": "1.00", "reason": "duplicate"}),
        f"GET {B}/invoices/{{id}}/credit-notes/{{cn}}/pdf": Probe(),
        f"POST {B}/invoices/{{id}}/credit-notes/{{cn}}/refund": Probe(body={"reference": "BANK-1"}),
        f"POST {B}/invoices/{{id}}/pay": Probe(),
        f"GET {B}/invoices/{{id}}/payments": Probe(),
        f"POST {B}/invoices/{{id}}/reissue": Probe(),
        f"GET {B}/organizations/{{id}}": Probe(),
        f"PATCH {B}/organizations/{{id}}": Probe(body={"name": "Mine now"}),
        f"GET {B}/organizations/{{id}}/ai-access-requests": Probe(),
        f"POST {B}/organizations/{{id}}/ai-access-requests": Probe(body={"feature": "ai_requests"}),
        f"POST {B}/organizations/{{id}}/ai-access-requests/{{request_id}}/approve": Probe(body={}),
        f"POST {B}/organizations/{{id}}/ai-access-requests/{{request_id}}/deny": Probe(body={}),
        f"POST {B}/organizations/{{id}}/ai-access-requests/{{request_id}}/revoke": Probe(body={}),
        f"GET {B}/organizations/{{id}}/ai-controls": Probe(),
        f"PUT {B}/organizations/{{id}}/ai-controls": Probe(body=ai),
        f"PUT {B}/organizations/{{id}}/ai-controls/members/{{user_id}}": Probe(body=ai),
        f"GET {B}/organizations/{{id}}/alerts": Probe(),
        f"GET {B}/organizations/{{id}}/analytics": Probe(),
        f"GET {B}/organizations/{{id}}/api-keys": Probe(),
        f"POST {B}/organizations/{{id}}/api-keys": Probe(body={"name": "stolen", "role": "admin"}),
        f"DELETE {B}/organizations/{{id}}/api-keys/{{key_id}}": Probe(),
        f"GET {B}/organizations/{{id}}/audit": Probe(),
        f"GET {B}/organizations/{{id}}/audit.csv": Probe(),
        f"GET {B}/organizations/{{id}}/branding": Probe(),
        f"PUT {B}/organizations/{{id}}/branding": Probe(body={"display_name": "Mine now"}),
        f"GET {B}/organizations/{{id}}/branding/logo": Probe(),
        f"GET {B}/organizations/{{id}}/invitations": Probe(),
        f"POST {B}/organizations/{{id}}/invitations": Probe(body={"user_id": "mallory2", "role": "owner"}),
        f"DELETE {B}/organizations/{{id}}/invitations/{{invitation_id}}": Probe(),
        f"POST {B}/organizations/{{id}}/invitations/{{invitation_id}}/resend": Probe(),
        f"GET {B}/organizations/{{id}}/invoices": Probe(),
        f"GET {B}/organizations/{{id}}/members": Probe(),
        f"DELETE {B}/organizations/{{id}}/members/{{user_id}}": Probe(),
        f"PUT {B}/organizations/{{id}}/members/{{user_id}}": Probe(body={"role": "viewer"}),
        f"GET {B}/organizations/{{id}}/seats": Probe(),
        f"GET {B}/organizations/{{id}}/subscriptions": Probe(),
        f"POST {B}/organizations/{{id}}/transfer-ownership": Probe(body={"user_id": v.member}),
        f"GET {B}/organizations/{{id}}/usage": Probe(),
        f"GET {B}/organizations/{{id}}/usage/members": Probe(),
        f"GET {B}/organizations/{{id}}/usage/stream": Probe(),
        f"GET {B}/organizations/{{id}}/webhook-endpoints": Probe(),
        f"POST {B}/organizations/{{id}}/webhook-endpoints": Probe(
            body={"url": "https://hooks.mallory.test/in", "event_types": ["invoice.paid"]}
        ),
        f"DELETE {B}/organizations/{{id}}/webhook-endpoints/{{endpoint_id}}": Probe(),
        f"GET {B}/organizations/{{id}}/webhook-endpoints/{{endpoint_id}}/deliveries": Probe(),
        f"POST {B}/organizations/{{id}}/webhook-endpoints/{{endpoint_id}}/rotate-secret": Probe(),
        f"GET {B}/payment-methods": Probe(acct),
        f"POST {B}/payment-methods/setup-intent": Probe(body=acct),
        f"DELETE {B}/payment-methods/{{method_id}}": Probe(acct),
        f"POST {B}/payment-methods/{{method_id}}/default": Probe(body=acct),
        f"GET {B}/payments": Probe(acct),
        f"GET {B}/recommendations": Probe(acct),
        f"GET {B}/subscriptions": Probe(acct),
        f"POST {B}/subscriptions/create": Probe(body={"tier": "free", "organization_id": v.org}),
        f"POST {B}/subscriptions/preview": Probe(body={"tier": "standard", "organization_id": v.org}),
        f"DELETE {B}/subscriptions/{{id}}": Probe(),
        f"GET {B}/subscriptions/{{id}}": Probe(),
        f"PUT {B}/subscriptions/{{id}}": Probe(body={"tier": "free"}),
        f"GET {B}/subscriptions/{{id}}/addons": Probe(),
        f"POST {B}/subscriptions/{{id}}/addons": Probe(body={"name": "advanced_analytics"}),
        f"POST {B}/subscriptions/{{id}}/addons/{{addon_id}}/end": Probe(body={"ends_at": "2026-08-01T00:00:00Z"}),
        f"POST {B}/subscriptions/{{id}}/addons/{{addon_id}}/hours": Probe(
            body={"worked_on": "2026-06-10", "hours": "1", "note": "x"}
        ),
        f"POST {B}/subscriptions/{{id}}/cancel": Probe(),
        f"GET {B}/subscriptions/{{id}}/contract": Probe(),
        f"PUT {B}/subscriptions/{{id}}/contract": Probe(body={"contract": None}),
        f"GET {B}/subscriptions/{{id}}/credit-grants": Probe(),
        f"POST {B}/subscriptions/{{id}}/credit-grants": Probe(body={"name": "free money", "amount": "100"}),
        f"POST {B}/subscriptions/{{id}}/preview": Probe(body={"action": "cancel"}),
        f"POST {B}/subscriptions/{{id}}/reactivate": Probe(),
        f"GET {B}/usage/breakdown": Probe(acct),
        f"GET {B}/usage/current": Probe(acct),
        f"GET {B}/usage/history": Probe(acct),
        f"POST {B}/usage/record": Probe(body=event),
        f"GET {B}/usage/share": Probe({**acct, "user_id": v.member}),
        f"GET {B}/usage/stream": Probe(acct),
    }


def fill(path: str, v: Victim) -> str:
    """The path with the victim's ids: ``{id}`` is the organization, subscription or invoice the path names."""
    kind = path.removeprefix(f"{B}/").split("/")[0]
    ids = {"organizations": v.org, "subscriptions": v.sub, "invoices": v.invoice}
    values = {
        "id": ids.get(kind, ""),
        "account": v.org,
        "feature": "api_calls",
        "user_id": v.member,
        "key_id": v.key_id,
        "invitation_id": v.invitation,
        "endpoint_id": v.endpoint,
        "request_id": v.request,
        "addon_id": v.addon,
        "cn": v.credit_note,
        "method_id": "pm_stolen0000000000",
    }
    return path.format(**values)


async def _victim(api: Api, warehouse: Warehouse) -> Victim:
    c = api.client
    org = await api.org("olga", name=VICTIM_NAME, members={"vic": "viewer", "mo": "member"})
    owner = api.as_user("olga", org)
    r = await c.post(f"{B}/subscriptions/create", json={"tier": "standard", "anchor": "2026-05-01"}, headers=owner)
    assert r.status_code == 201, r.text
    sub = r.json()["id"]
    api.clock.now = datetime(2026, 6, 10, 12, tzinfo=UTC)
    client = warehouse._open()
    block = event_block(org, "mo", org, "api_calls", MAY + timedelta(days=2), [60000], id_prefix=org)
    client.raw_insert(f"{CH_DB}.events", None, insert_block=block, fmt="JSONEachRow")
    result = api_settler(api, client, lambda: [org]).settle(datetime(2026, 6, 3, tzinfo=UTC), datetime.now(UTC))
    invoice = f"in_{org}_2026-05"
    assert invoice in result.finalized
    ops = api.as_operator()
    r = await c.post(
        f"{B}/invoices/{invoice}/credit-notes", json={"amount": "1.00", "reason": "duplicate"}, headers=ops
    )
    assert r.status_code == 201, r.text
    credit_note = r.json()["id"]
    r = await c.post(f"{B}/subscriptions/{sub}/addons", json={"name": "advanced_analytics"}, headers=ops)
    assert r.status_code == 201, r.text
    addon = r.json()["id"]
    r = await c.post(f"{B}/organizations/{org}/api-keys", json={"name": "ci", "role": "admin"}, headers=owner)
    assert r.status_code == 201, r.text
    key_id = r.json()["id"]
    invitation = await api.invite(org, "newbie", "member", owner)
    r = await c.post(
        f"{B}/organizations/{org}/webhook-endpoints",
        json={"url": "https://hooks.victim.test/in", "event_types": ["invoice.paid"]},
        headers=owner,
    )
    assert r.status_code == 201, r.text
    endpoint = r.json()["id"]
    r = await c.post(
        f"{B}/organizations/{org}/ai-access-requests", json={"feature": "ai_requests"}, headers=api.as_user("mo", org)
    )
    assert r.status_code == 201, r.text
    return Victim(org, sub, addon, invoice, credit_note, key_id, invitation, endpoint, r.json()["id"])


def _error_shape(r: httpx.Response) -> bool:
    try:
        return set(r.json()) == {"error"}
    except ValueError:
        return False


def _route_keys() -> set[str]:
    return {f"{e.method} {e.path}" for e in ENDPOINTS}


async def _call(api: Api, method: str, url: str, p: Probe, headers: dict[str, str]) -> httpx.Response:
    # A stream that was let in would never end: a bounded wait turns that into a failure, not a hang.
    return await asyncio.wait_for(
        api.client.request(method, url, params=p.query, json=p.body, headers=headers), timeout=60
    )


async def test_every_route_is_played_by_another_tenant_and_answers_as_if_nothing_were_there(
    make_api: Callable[..., Any], warehouse: Warehouse
) -> None:
    async with make_api(now=MAY) as api:
        v = await _victim(api, warehouse)
        table = probes(v)
        assert set(table) | OWN | set(PUBLIC) == _route_keys(), "a route is not played here: add it to probes()"
        mallory = await api.org("mallory", name="Mallory Ltd")
        attackers = {
            "another org's owner": api.as_user("mallory", mallory),
            "another org's admin key": await api.key(mallory, "mallory", "admin"),
            "another org owner's personal token": api.as_user("mallory"),
        }
        wrong = []
        for route, p in sorted(table.items()):
            method, path = route.split(" ", 1)
            url = fill(path, v)
            for who, headers in attackers.items():
                r = await _call(api, method, url, p, headers)
                if r.status_code != p.expect or VICTIM_NAME in r.text or not _error_shape(r):
                    wrong.append(f"{route} as {who}: {r.status_code} (expected {p.expect}) {r.text[:200]}")
        assert not wrong, "\n".join(wrong)
        # Nothing of the victim's changed on the way.
        owner = api.as_user("olga", v.org)
        org = (await api.client.get(f"{B}/organizations/{v.org}", headers=owner)).json()
        assert org["name"] == VICTIM_NAME
        members = (await api.client.get(f"{B}/organizations/{v.org}/members", headers=owner)).json()["members"]
        assert {m["user_id"]: m["role"] for m in members} == {"olga": "owner", "vic": "viewer", "mo": "member"}
        keys = (await api.client.get(f"{B}/organizations/{v.org}/api-keys", headers=owner)).json()["api_keys"]
        assert [k["revoked_at"] for k in keys if k["id"] == v.key_id] == [None]
        sub = (await api.client.get(f"{B}/subscriptions/{v.sub}", headers=owner)).json()
        assert (sub["tier"], sub["status"], sub["cancel_at"]) == ("standard", "active", None)

        # Without credentials: 401 everywhere but the public routes.
        unsigned = {**table, **{route: Probe(body=OWN_BODIES.get(route)) for route in OWN}}
        for route, p in sorted(unsigned.items()):
            method, path = route.split(" ", 1)
            r = await _call(api, method, fill(path, v), p, {})
            if r.status_code != 401:
                wrong.append(f"{route} without credentials: {r.status_code} {r.text[:200]}")
        for route, status in PUBLIC.items():
            method, path = route.split(" ", 1)
            r = await _call(api, method, path, Probe(body={}), {})
            if r.status_code != status:
                wrong.append(f"{route} without credentials: {r.status_code} (expected {status}) {r.text[:200]}")
        assert not wrong, "\n".join(wrong)


async def test_a_stolen_id_under_the_attackers_own_organization_is_not_found(
    make_api: Callable[..., Any], warehouse: Warehouse
) -> None:
    """Another organization's key, invitation, webhook endpoint, AI access request or member, named under the
    attacker's own organization (where the attacker is the owner): 404, and the victim's object is unchanged."""
    async with make_api(now=MAY) as api:
        v = await _victim(api, warehouse)
        c = api.client
        mallory = await api.org("mallory", name="Mallory Ltd")
        me = api.as_user("mallory", mallory)
        o = f"{B}/organizations/{mallory}"
        ai = {"disabled_features": []}
        stolen = [
            ("DELETE", f"{o}/api-keys/{v.key_id}", None),
            ("DELETE", f"{o}/invitations/{v.invitation}", None),
            ("POST", f"{o}/invitations/{v.invitation}/resend", None),
            ("DELETE", f"{o}/webhook-endpoints/{v.endpoint}", None),
            ("POST", f"{o}/webhook-endpoints/{v.endpoint}/rotate-secret", None),
            ("GET", f"{o}/webhook-endpoints/{v.endpoint}/deliveries", None),
            ("POST", f"{o}/ai-access-requests/{v.request}/approve", {}),
            ("POST", f"{o}/ai-access-requests/{v.request}/deny", {}),
            ("PUT", f"{o}/members/{v.member}", {"role": "admin"}),
            ("DELETE", f"{o}/members/{v.member}", None),
            ("PUT", f"{o}/ai-controls/members/{v.member}", ai),
            ("POST", f"{o}/transfer-ownership", {"user_id": v.member}),
        ]
        wrong = []
        for method, url, body in stolen:
            r = await c.request(method, url, json=body, headers=me)
            if r.status_code != 404 or VICTIM_NAME in r.text:
                wrong.append(f"{method} {url}: {r.status_code} {r.text[:200]}")
        assert not wrong, "\n".join(wrong)
        owner = api.as_user("olga", v.org)
        keys = (await c.get(f"{B}/organizations/{v.org}/api-keys", headers=owner)).json()["api_keys"]
        assert [k["revoked_at"] for k in keys if k["id"] == v.key_id] == [None]
        invs = (await c.get(f"{B}/organizations/{v.org}/invitations", headers=owner)).json()["invitations"]
        assert [i["status"] for i in invs if i["id"] == v.invitation] == ["pending"]
        hooks = (await c.get(f"{B}/organizations/{v.org}/webhook-endpoints", headers=owner)).json()["endpoints"]
        assert [h["id"] for h in hooks] == [v.endpoint]
        asked = (await c.get(f"{B}/organizations/{v.org}/ai-access-requests", headers=owner)).json()["requests"]
        assert [a["status"] for a in asked if a["id"] == v.request] == ["pending"]

        # The lists of one's own name nothing of another tenant's: invoices, payments, invitations.
        for url in (f"{B}/invoices", f"{B}/payments", f"{B}/invitations"):
            for headers in (me, api.as_user("mallory"), await api.key(mallory, "mallory", "viewer")):
                r = await c.get(url, headers=headers)
                assert r.status_code in (200, 403), (url, r.text)
                assert v.org not in r.text and v.invoice not in r.text and v.invitation not in r.text, (url, r.text)


async def test_an_email_never_carries_another_accounts_invoice_or_credit_note(
    make_api: Callable[..., Any], warehouse: Warehouse
) -> None:
    """A notice of one account naming another account's invoice or credit note (a bug, a forged context) gets no
    PDF: the attachment is refused, so the email waits rather than leak the other tenant's document."""
    async with make_api(now=MAY) as api:
        v = await _victim(api, warehouse)
        mallory = await api.org("mallory", name="Mallory Ltd")
        attach = invoice_pdf_attachments(api.ctx.warehouse, api.settings, api.ctx.catalog)
        forged = [
            ("invoice_finalized", {"invoice_id": v.invoice}),
            ("credit_note_issued", {"invoice_id": v.invoice, "credit_note_id": v.credit_note}),
        ]
        with api.ctx.sessions() as s:
            for kind, context in forged:
                row = NoticeRow(key=f"forged:{kind}", kind=kind, account_id=mallory, context=context, created_at=MAY)
                with pytest.raises(LookupError):
                    attach(s, row)
            # The victim's own notice gets its PDF.
            context = {"invoice_id": v.invoice}
            own = NoticeRow(key="own", kind="invoice_finalized", account_id=v.org, context=context, created_at=MAY)
            [pdf] = attach(s, own)
            assert pdf.filename == f"{v.invoice}.pdf"
