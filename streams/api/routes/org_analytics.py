"""``GET /api/billing/organizations/{id}/analytics``: an organization's monthly trends for its admin panel —
settled usage and invoiced totals by month, by module and by member group (role), the AI cost of its use against
what its invoices charged for AI, and seat utilisation (owners, admins, viewers; docs/admin-panel.md)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal

from rating.money import ZERO, money_text, quantity_text
from rating.seats import most_members
from schemas.events import Metric
from streams.api.analytics_models import AnalyticsQuery, GroupTrend, MonthTrend, OrgAnalytics
from streams.api.auth import READ_ALL, require_role
from streams.api.common import caller
from streams.api.limits import drafts_limit
from streams.api.models import ORG_ID_PATTERN
from streams.api.routes.org_usage import spend_text
from streams.api.routes.orgs import PREFIX
from streams.api.routing import Call, Endpoint
from streams.store import memberships, orgs

_SHARE = Decimal("0.0001")


def _next_month(d: datetime) -> datetime:
    return datetime(d.year + d.month // 12, d.month % 12 + 1, 1, tzinfo=UTC)


def _key(d: date | datetime) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def _share(part: int, whole: int) -> str | None:
    return f"{(Decimal(part) / whole).quantize(_SHARE, ROUND_HALF_EVEN):f}" if whole else None


def analytics(call: Call) -> OrgAnalytics:
    q: AnalyticsQuery = call.query
    org_id = call.path["id"]
    now = call.ctx.clock()
    back = now.year * 12 + now.month - 1 - (q.months - 1)  # months since year 0 of the first month shown
    start = datetime(back // 12, back % 12 + 1, 1, tzinfo=UTC)
    with call.ctx.sessions() as s:
        require_role(s, caller(call, s), org_id, READ_ALL)
        drafts_limit(call.ctx.limits, org_id, now.timestamp())
        roles = {m.user_id: m.role for m in orgs.members(s, org_id)}
        spans = memberships.history(s, org_id)
    wh = call.ctx.warehouse
    use = wh.monthly_use(org_id, start, now)
    modules = wh.monthly_modules(org_id, start, now)
    invoices = [i for i in wh.invoices([org_id]) if i["status"] != "void" and i["period_start"] >= start]
    ai_billed: dict[str, Decimal] = defaultdict(Decimal)
    for inv in invoices:
        found = wh.invoice(inv["invoice_id"])
        for line in found[1].get("lines", []) if found else []:
            if str(line.get("code", "")).startswith(f"{Metric.PREMIUM_FEATURE.value}:"):
                ai_billed[_key(inv["period_start"])] += Decimal(str(line["amount"]))

    months: list[MonthTrend] = []
    m = start
    while m < now:
        key, end = _key(m), min(_next_month(m), now)
        rows = [r for r in use if _key(r.month) == key]
        metrics: dict[str, Decimal] = defaultdict(Decimal)
        for r in rows:
            metrics[r.metric] = (
                max(metrics[r.metric], r.quantity)
                if r.metric == Metric.STORAGE_GB
                else (metrics[r.metric] + r.quantity)
            )
        active = len({r.user_id for r in rows if r.events > 0})
        members = most_members(spans, m, end)
        billed = [Decimal(i["total"]) for i in invoices if _key(i["period_start"]) == key]
        months.append(
            MonthTrend(
                month=key,
                metrics={k: quantity_text(v) for k, v in sorted(metrics.items())},
                invoiced=money_text(sum(billed, ZERO)) if billed else None,
                ai_requests=quantity_text(metrics.get(Metric.AI_REQUESTS, ZERO)),
                ai_cost=spend_text(sum((r.ai_cost for r in rows), ZERO)),
                ai_billed=money_text(ai_billed.get(key, ZERO)),
                active_users=active,
                members=members,
                seat_utilisation=f"{(Decimal(active) / members).quantize(_SHARE, ROUND_HALF_EVEN):f}"
                if members
                else None,
            )
        )
        m = _next_month(m)

    by_role: dict[tuple[str, str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for r in use:
        if r.metric == Metric.STORAGE_GB:
            continue  # a gauge: not summed across people
        acc = by_role[(_key(r.month), roles.get(r.user_id, "former"), r.metric)]
        acc[0] += r.quantity
        acc[1] += r.ai_cost
    return OrgAnalytics(
        organization_id=org_id,
        as_of=now,
        months=months,
        by_module=[
            GroupTrend(
                month=_key(x.month), group=x.module, metric=x.metric, quantity=quantity_text(x.quantity), ai_cost=None
            )
            for x in modules
        ],
        by_role=[
            GroupTrend(month=k[0], group=k[1], metric=k[2], quantity=quantity_text(v[0]), ai_cost=spend_text(v[1]))
            for k, v in sorted(by_role.items())
        ],
    )


ENDPOINTS = [
    Endpoint(
        "GET",
        f"{PREFIX}/{{id}}/analytics",
        analytics,
        "Monthly trends: settled usage, invoiced totals, AI cost against AI charges, by module and by role, seat "
        "utilisation (owners, admins, viewers)",
        "organizations",
        OrgAnalytics,
        query=AnalyticsQuery,
        path_params={"id": ORG_ID_PATTERN},
        errors=(401, 403, 404, 503),
    ),
]
