"""``/api/billing/organizations/{id}/usage/members`` (live usage per member: metrics, AI requests, tokens and
spend by provider and model, each against its AI cap) and ``.../seats`` (each seat's status and what it costs
this period). Owners, admins and viewers see everyone; a member sees only their own use (docs/admin-panel.md)."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy import select

from rating.ai_caps import AiCap, AiUse, crossings, reached
from rating.money import ZERO, money_text, quantity_text
from rating.pricing import tiered_charge
from rating.seats import counted_seats, most_members
from streams.api.auth import ANY, READ_ALL, require_role
from streams.api.common import account_terms, caller, period_out
from streams.api.errors import ApiError
from streams.api.models import ORG_ID_PATTERN
from streams.api.org_usage import MemberUse, ModelUse, OrgUsage, cached_org_usage
from streams.api.org_usage_models import (
    AlertList,
    AlertOut,
    CapStatus,
    MemberUsageOut,
    ModelUseOut,
    OrgUsageLive,
    SeatList,
    SeatOut,
    UsageOut,
)
from streams.api.routes.orgs import PREFIX
from streams.api.routing import Call, Endpoint
from streams.notify import email
from streams.store import ai_controls, invitations, memberships, orgs
from streams.store.models import NoticeRow

_SPEND = Decimal("0.0001")


def spend_text(d: Decimal) -> str:
    """A USD amount of AI cost: four decimals (a request costs fractions of a cent)."""
    return f"{d.quantize(_SPEND, rounding=ROUND_HALF_EVEN):f}"


def cap_status(cap: AiCap | None, use: AiUse, mode: str = "alert") -> CapStatus | None:
    if cap is None or not cap.any:
        return None
    return CapStatus(
        spend_cap=None if cap.spend is None else money_text(cap.spend),
        request_cap=cap.requests,
        mode="hard" if cap.hard else "alert",
        reached=list(reached(cap, use)),  # type: ignore[arg-type]
        alerts=[f"{c.what}_{c.threshold}" for c in crossings(cap, use)],
    )


def _usage(m: MemberUse, cap: AiCap | None) -> dict[str, object]:
    ai = m.ai
    return {
        "metrics": {k: quantity_text(v) for k, v in sorted(m.metrics.items())},
        "ai_requests": quantity_text(ai.requests),
        "input_tokens": sum(x.input_tokens for x in m.models),
        "output_tokens": sum(x.output_tokens for x in m.models),
        "ai_spend": spend_text(ai.spend),
        "by_model": [
            ModelUseOut(
                provider=x.provider,
                model=x.model,
                requests=quantity_text(x.requests),
                input_tokens=x.input_tokens,
                output_tokens=x.output_tokens,
                spend=spend_text(x.spend),
            )
            for x in sorted(m.models, key=lambda x: (-x.spend, -x.requests, x.provider, x.model))
        ],
        "cap": cap_status(cap, ai),
    }


def _everyone(usage: OrgUsage) -> MemberUse:
    """The organization's use as one: metrics summed, each provider and model once."""
    total = MemberUse("*")
    by_model: dict[tuple[str, str], list[Decimal | int]] = {}
    for m in usage.members.values():
        for k, v in m.metrics.items():
            total.metrics[k] = total.metrics.get(k, ZERO) + v
        for x in m.models:
            acc = by_model.setdefault((x.provider, x.model), [ZERO, 0, 0, ZERO])
            acc[0] += x.requests
            acc[1] += x.input_tokens
            acc[2] += x.output_tokens
            acc[3] += x.spend
    total.models = [
        ModelUse(p, mo, Decimal(a[0]), int(a[1]), int(a[2]), Decimal(a[3])) for (p, mo), a in by_model.items()
    ]
    return total


def members_usage(call: Call) -> OrgUsageLive:
    org_id = call.path["id"]
    now = call.ctx.clock()
    catalog = call.ctx.catalog.at(now)
    with call.ctx.sessions() as s:
        who = caller(call, s)
        role = require_role(s, who, org_id, ANY)
        period = account_terms(s, catalog, org_id, now).period(now)
        roles = {m.user_id: m.role for m in orgs.members(s, org_id)}
        caps = {r.user_id: ai_controls.cap_of(r) for r in ai_controls.for_organization(s, org_id)}
    sees_all = role in READ_ALL
    if not sees_all and who.user_id is None:
        raise ApiError(403, "forbidden", "a member's key sees no one's usage: sign in as the member")
    usage = cached_org_usage(call, org_id, period, now)
    users = set(usage.members) | set(roles) if sees_all else {who.user_id or ""}
    rows = [
        MemberUsageOut(
            user_id=u,
            role=roles.get(u),
            **_usage(usage.members.get(u) or MemberUse(u), caps.get(u)),  # type: ignore[arg-type]
        )
        for u in users
    ]
    rows.sort(key=lambda r: (-Decimal(r.ai_spend), -Decimal(r.ai_requests), r.user_id))
    return OrgUsageLive(
        organization_id=org_id,
        period=period_out(period),
        as_of=usage.as_of,
        scope="organization" if sees_all else "self",
        organization=UsageOut(**_usage(_everyone(usage), caps.get(ai_controls.ORG))) if sees_all else None,  # type: ignore[arg-type]
        members=rows,
    )


def seats(call: Call) -> SeatList:
    """Seats under the tier's or contract's basis (rating/seats.py): ``active`` bills the users with any usage,
    ``provisioned`` the most members at once (the membership history); the charge so far is shared by the seats
    it counts (a contract's minimum above them is the organization's, nobody's seat)."""
    org_id = call.path["id"]
    now = call.ctx.clock()
    catalog = call.ctx.catalog.at(now)
    with call.ctx.sessions() as s:
        require_role(s, caller(call, s), org_id, READ_ALL)
        terms = account_terms(s, catalog, org_id, now)
        period = terms.period(now)
        so_far = (period.start, now + timedelta(microseconds=1))
        spans = memberships.members_during(s, org_id, *so_far)
        roles = {m.user_id: m.role for m in orgs.members(s, org_id)}
        pending = {
            i.user_id: i.role
            for i in invitations.for_organization(s, org_id)
            if invitations.state(i, now) == "pending" and i.user_id not in roles
        }
    usage = cached_org_usage(call, org_id, period, now)
    active = sorted(u for u, m in usage.members.items() if m.events > 0)
    members = sorted({m.user_id for m in spans} | set(roles))  # this period's, those who left since included
    basis = terms.tier.seat_basis
    counted = counted_seats(basis, len(active), most_members(spans, *so_far))
    billed = max(counted, terms.tier.minimum_seats) if terms.tier.seats is not None else 0
    # A tier with seat prices has a seat price even before anyone is counted (the first bracket's, nothing billed):
    # seat_price null says the tier bills no seats, and the app says so in those words.
    charge = tiered_charge(terms.tier.seats, Decimal(billed)) if terms.tier.seats is not None else None
    amount = charge.amount if charge is not None else ZERO
    each = money_text(amount / billed if billed else ZERO)
    nothing = money_text(ZERO)
    seat_holders = set(active) if basis == "active" else set(members)
    out = [
        SeatOut(user_id=u, role=roles.get(u), status="active", cost=each if u in seat_holders else nothing)
        for u in active
    ]
    out += [
        SeatOut(user_id=u, role=roles.get(u), status="provisioned", cost=each if u in seat_holders else nothing)
        for u in members
        if u not in usage.members
    ]
    out += [SeatOut(user_id=u, role=r, status="invited", cost=nothing) for u, r in sorted(pending.items())]
    return SeatList(
        organization_id=org_id,
        period=period_out(period),
        tier=terms.tier_name,
        seat_basis=basis,
        active=len(active),
        billed=billed,
        seat_price=money_text(charge.unit_price) if charge is not None else None,
        seat_charge=money_text(amount),
        seats=out,
    )


ALERT_KINDS = ("usage_alert", "ai_cap_alert", "budget_alert")


def alerts(call: Call) -> AlertList:
    """The usage, AI cap and budget alerts raised for the organization this period (its notice outbox)."""
    org_id = call.path["id"]
    now = call.ctx.clock()
    with call.ctx.sessions() as s:
        require_role(s, caller(call, s), org_id, READ_ALL)
        period = account_terms(s, call.ctx.catalog.at(now), org_id, now).period(now)
        q = (
            select(NoticeRow)
            .where(
                NoticeRow.account_id == org_id, NoticeRow.kind.in_(ALERT_KINDS), NoticeRow.created_at >= period.start
            )
            .order_by(NoticeRow.created_at.desc(), NoticeRow.id.desc())
            .limit(200)
        )
        rows = [
            AlertOut(
                kind=r.kind,  # type: ignore[arg-type]
                at=r.created_at,
                summary=email.render(r.kind, {"account_id": org_id, **r.context})[0],
                emailed=r.sent_at is not None,
            )
            for r in s.scalars(q)
        ]
    return AlertList(organization_id=org_id, period=period_out(period), alerts=rows)


_TAG = "organizations"
ENDPOINTS = [
    Endpoint(
        "GET",
        f"{PREFIX}/{{id}}/usage/members",
        members_usage,
        "Live period-to-date usage per member: metrics, AI requests, tokens and spend by provider and model, "
        "against the AI caps (owners, admins, viewers: everyone; members: themselves)",
        _TAG,
        OrgUsageLive,
        path_params={"id": ORG_ID_PATTERN},
        errors=(401, 403, 404, 503),
    ),
    Endpoint(
        "GET",
        f"{PREFIX}/{{id}}/alerts",
        alerts,
        "The usage, AI cap and budget alerts raised this period (owners, admins, viewers)",
        _TAG,
        AlertList,
        path_params={"id": ORG_ID_PATTERN},
        errors=(401, 403, 404),
    ),
    Endpoint(
        "GET",
        f"{PREFIX}/{{id}}/seats",
        seats,
        "Each seat's status this period (active, provisioned, invited) and what it costs (owners, admins, viewers)",
        _TAG,
        SeatList,
        path_params={"id": ORG_ID_PATTERN},
        errors=(401, 403, 404, 503),
    ),
]
