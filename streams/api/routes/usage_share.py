"""``GET /api/billing/usage/share``: a user's own share of an account's usage this period (the member dashboard;
docs/web.md): settled, then their stored events not settled yet (live, provisional). A member reads only their own
share; owners, admins and viewers any member's."""

from __future__ import annotations

from decimal import Decimal

from rating.money import quantity_text
from rating.quota import metric_rule
from rating.seats import SEAT_METRIC
from schemas.events import Metric
from streams.api.common import cached_access, cached_terms, caller, period_out
from streams.api.errors import ApiError
from streams.api.models import MetricShare, UsageShare, UsageShareQuery
from streams.api.routing import Call, Endpoint
from streams.api.warehouse import by_period

STORAGE = Metric.STORAGE_GB.value


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
    end = min(now, period.end)
    warehouse = call.ctx.warehouse
    settled_until = warehouse.settled_until()
    # One split of the period at the watermark: settled hours before it, stored events from it (none counted twice).
    split = period.start if settled_until is None else min(end, max(settled_until, period.start))
    days = warehouse.usage_days(q.account, period.start, split, user_id=q.user_id) if split > period.start else []
    settled = {metric: qty for p, metric, _, qty, _ in by_period(days, terms.anchor) if p.start == period.start}
    used = dict(settled)
    if split < end:  # the user's stored events not settled yet: today's use, seconds behind
        for row in warehouse.member_usage(q.account, split, end, q.user_id):
            if row.metric != SEAT_METRIC:
                had = used.get(row.metric, Decimal(0))
                used[row.metric] = max(had, row.quantity) if row.metric == STORAGE else had + row.quantity
    # Seats are the organization's count, not a member's use.
    metered = {m for m in terms.tier.metrics if metric_rule(terms.tier, m).entitled and m != SEAT_METRIC}
    zero = Decimal(0)
    return UsageShare(
        account_id=q.account,
        user_id=q.user_id,
        period=period_out(period),
        as_of=now,
        settled_until=settled_until,
        metrics=[
            MetricShare(metric=m, used=quantity_text(used.get(m, zero)), settled=quantity_text(settled.get(m, zero)))
            for m in sorted(metered | set(used))
        ],
    )


ENDPOINTS = [
    Endpoint(
        "GET",
        "/api/billing/usage/share",
        usage_share,
        "A user's own usage of the account this period, settled and live (a member: only their own)",
        "usage",
        UsageShare,
        query=UsageShareQuery,
        errors=(401, 403, 404, 503),
    ),
]
