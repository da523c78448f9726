"""``GET /api/billing/usage/share``: a user's own share of an account's usage this period, settled (the member
dashboard; docs/web.md). A member reads only their own share; owners, admins and viewers any member's."""

from __future__ import annotations

from decimal import Decimal

from rating.quota import metric_rule
from rating.seats import SEAT_METRIC
from streams.api.common import cached_access, cached_terms, caller, period_out
from streams.api.errors import ApiError
from streams.api.models import MetricShare, UsageShare, UsageShareQuery
from streams.api.routing import Call, Endpoint
from streams.api.warehouse import by_period


def _text(d: Decimal) -> str:
    return f"{d.normalize():f}"


def usage_share(call: Call) -> UsageShare:
    q: UsageShareQuery = call.query
    now = call.ctx.clock()
    catalog = call.ctx.catalog.at(now)
    with call.ctx.sessions() as s:
        who = caller(call, s)
        access = cached_access(call, s, who, q.account)
        if not (access.reads_all or q.user_id == who.user_id):
            raise ApiError(403, "forbidden", f"the role {access.role} reads only its own share (user_id=<you>)")
        terms = cached_terms(call, s, catalog, q.account, now)
    period = terms.period(now)
    days = call.ctx.warehouse.usage_days(q.account, period.start, min(now, period.end), user_id=q.user_id)
    used = {metric: qty for p, metric, _, qty, _ in by_period(days, terms.anchor) if p.start == period.start}
    # Seats are the organization's count, not a member's use.
    metered = {m for m in terms.tier.metrics if metric_rule(terms.tier, m).entitled and m != SEAT_METRIC}
    return UsageShare(
        account_id=q.account,
        user_id=q.user_id,
        period=period_out(period),
        settled_until=call.ctx.warehouse.settled_until(),
        metrics=[MetricShare(metric=m, used=_text(used.get(m, Decimal(0)))) for m in sorted(metered | set(used))],
    )


ENDPOINTS = [
    Endpoint(
        "GET",
        "/api/billing/usage/share",
        usage_share,
        "A user's own settled usage of the account this period (a member: only their own)",
        "usage",
        UsageShare,
        query=UsageShareQuery,
        errors=(401, 403, 404, 503),
    ),
]
