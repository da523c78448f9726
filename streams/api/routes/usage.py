"""Entitlements (the gateway's per-request check), live usage from the quota state, settled usage history.

Live figures come from ``billing.quota-state`` (the live view, docs/architecture.md §7: may briefly run high after a
crash replay); history comes from ``usage_hourly`` in ClickHouse (settled, what invoices bill).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from rating.catalog.model import CatalogVersion
from rating.money import ZERO, money_text, quantity_text
from rating.pricing import metric_charge
from rating.quota import metric_entitlement, metric_rule, premium_entitled, quota_state
from rating.seats import SEAT_METRIC, counted_seats, most_members
from schemas import ai_rules
from schemas.events import Metric
from sinks.clickhouse.usage_queries import WarehouseUnavailable
from streams.api.auth import READ_ALL, AccountAccess, account_access, require_role
from streams.api.common import AccountTerms, account_terms, cached_access, cached_terms, caller, period_out
from streams.api.errors import ApiError
from streams.api.models import (
    ID_PATTERN,
    ORG_ID_PATTERN,
    Entitlement,
    EntitlementQuery,
    MetricUsage,
    OrgUsageQuery,
    RateLimitState,
    UsageCurrent,
    UsageCurrentQuery,
    UsageHistory,
    UsageHistoryQuery,
    UsageRow,
)
from streams.api.org_usage import cached_org_usage, cap_refusal
from streams.api.routing import Call, Endpoint
from streams.api.warehouse import by_period
from streams.store import ai_controls, memberships

log = logging.getLogger(__name__)
#: The metered metrics (a feature name that is one is checked against its quota).
METRICS = frozenset(Metric)
HISTORY_DEFAULT = timedelta(days=90)
HISTORY_MAX = timedelta(days=800)


def _text(d: Decimal | None) -> str | None:
    return None if d is None else quantity_text(d)


def _used(record: dict[str, Any] | None, period_key: str) -> tuple[Decimal, Any]:
    """Period-to-date usage of a quota record, if it is of the current period."""
    if record is None or record.get("period") != period_key:
        return ZERO, None
    try:
        return Decimal(str(record.get("used") or "0")), record.get("as_of")
    except ArithmeticError:
        return ZERO, None


def _read_own_or_all(access: AccountAccess) -> None:
    if not (access.is_self or access.reads_all):
        raise ApiError(403, "forbidden", f"the role {access.role} reads only its own usage")


def catalog_features(catalog: CatalogVersion) -> tuple[set[str], set[str]]:
    """The catalog's premium features and its tier features (any tier)."""
    premium = {name for t in catalog.tiers.values() for name in metric_rule(t, Metric.PREMIUM_FEATURE).per_feature}
    return premium, set().union(*(t.features for t in catalog.tiers.values()))


def entitlement(call: Call) -> Entitlement:
    """The tier's answer, then the organization's AI controls for the member, provider and model asked about
    (docs/ai-controls.md): a control only ever turns an allowed answer into a refusal."""
    q: EntitlementQuery = call.query
    account = call.path["account"]
    with call.ctx.sessions() as s:
        answer = _tier_entitlement(call, s)
        if not answer.allowed:
            return answer
        rules = call.ctx.cache.get(
            "ai_controls", (account, q.user_id), lambda: ai_controls.rules(s, account, q.user_id)
        )
        reason = ai_rules.refusal(
            rules,
            answer.feature,
            q.provider,
            q.model,
            premium=answer.kind == "premium_feature",
            cap_reached=lambda: (
                any(r.cap.hard and r.cap.any for r in rules) and _cap_reason(call, s, account, rules) is not None
            ),
        )
    return answer if reason is None else answer.model_copy(update={"allowed": False, "reason": reason})


def _cap_reason(call: Call, s: Session, account: str, rules: tuple[ai_controls.Rule, ...]) -> str | None:
    """``ai_cap_reached`` once a hard cap is reached. The period's use is read from the warehouse (cached);
    when it cannot be read the cap is not applied (the gateway keeps answering; the watcher still alerts)."""
    now = call.ctx.clock()
    catalog = call.ctx.catalog.at(now)
    period = cached_terms(call, s, catalog, account, now).period(now)
    try:
        usage = cached_org_usage(call, account, period, now)
    except WarehouseUnavailable as exc:
        log.warning("AI caps of %s not applied: %s", account, exc)
        return None
    return cap_refusal(rules, usage)


def _tier_entitlement(call: Call, s: Session) -> Entitlement:
    account, feature = call.path["account"], call.path["feature"]
    now = call.ctx.clock()
    catalog = call.ctx.catalog.at(now)
    cached_access(call, s, caller(call, s), account)  # every role may check what its apps may use
    terms = cached_terms(call, s, catalog, account, now)
    period = terms.period(now)
    budget = call.ctx.limits.accounts.peek(account, terms.tier.rate_limit_per_minute, now.timestamp())
    common: dict[str, Any] = {
        "account_id": account,
        "feature": feature,
        "tier": terms.tier_name,
        "status": terms.status,
        "period": period.key,
        "rate_limit": RateLimitState(
            limit_per_minute=budget.limit, remaining=budget.remaining, reset_seconds=budget.reset_after
        ),
    }
    if feature in METRICS:
        used, as_of = _used(call.ctx.quota.get(account, feature), period.key)
        decision = metric_entitlement(metric_rule(terms.tier, feature), used)
        return Entitlement(
            **common,
            kind="metric",
            allowed=decision.allowed,
            limit=_text(decision.limit),
            used=_text(used),
            remaining=_text(decision.remaining),
            reason=decision.reason,
            as_of=as_of,
        )
    premium, features = catalog_features(catalog)
    if feature in premium:
        ok = premium_entitled(metric_rule(terms.tier, Metric.PREMIUM_FEATURE), feature)
        return Entitlement(
            **common,
            kind=Metric.PREMIUM_FEATURE.value,
            allowed=ok,
            limit=None,
            used=None,
            remaining=None,
            reason=None if ok else "not_entitled",
            as_of=None,
        )
    if feature not in features:
        raise ApiError(
            404, "unknown_feature", f"{feature!r} is not a feature, metric or premium feature of the catalog"
        )
    ok = feature in terms.tier.features
    return Entitlement(
        **common,
        kind="feature",
        allowed=ok,
        limit=None,
        used=None,
        remaining=None,
        reason=None if ok else "not_in_tier",
        as_of=None,
    )


def usage_reader_terms(call: Call, account: str) -> tuple[datetime, CatalogVersion, AccountTerms]:
    """Now, the catalog in effect and the account's terms, when the caller may read the account's usage
    (403/404 otherwise): the live figures' rule, shared by the endpoints that show them."""
    now = call.ctx.clock()
    catalog = call.ctx.catalog.at(now)
    with call.ctx.sessions() as s:
        _read_own_or_all(cached_access(call, s, caller(call, s), account))
        return now, catalog, cached_terms(call, s, catalog, account, now)


def usage_current(call: Call) -> UsageCurrent:
    q: UsageCurrentQuery = call.query
    now, _, terms = usage_reader_terms(call, q.account)
    period = terms.period(now)
    # Provisioned seats: the most members so far this period (rating/seats.py), from the membership history.
    so_far = (period.start, now + timedelta(microseconds=1))
    spans = []
    if terms.tier.seat_basis == "provisioned":
        with call.ctx.sessions() as s:
            spans = memberships.members_during(s, q.account, *so_far)
    records = call.ctx.quota.for_account(q.account)
    rows, total = [], ZERO
    for metric in sorted(set(terms.tier.metrics) | set(records)):
        rule = metric_rule(terms.tier, metric)
        used, _ = _used(records.get(metric), period.key)
        if metric == SEAT_METRIC:
            used = Decimal(counted_seats(terms.tier.seat_basis, int(used), most_members(spans, *so_far)))
        charge = metric_charge(rule, used)
        total += charge.amount
        state = quota_state(q.account, metric, period.key, rule, terms.tier.rate_limit_per_minute, used, now)
        rows.append(
            MetricUsage(
                metric=metric,
                used=_text(used) or "0",
                included=_text(state.included),
                remaining=_text(state.remaining),
                hard_cap=_text(state.hard_cap),
                over_limit=state.over_limit,
                hard_capped=state.hard_capped,
                entitled=state.entitled,
                provisional_charge=money_text(charge.amount),
            )
        )
    return UsageCurrent(
        account_id=q.account,
        tier=terms.tier_name,
        status=terms.status,
        period=period_out(period),
        metrics=rows,
        provisional_total=money_text(total),
        live=call.ctx.quota.ready.is_set(),
    )


def _history(
    call: Call, account: str, q: UsageHistoryQuery | OrgUsageQuery, user_id: str | None, by_user: bool
) -> UsageHistory:
    now = call.ctx.clock()
    start = getattr(q, "start", None) or now - HISTORY_DEFAULT
    end = getattr(q, "end", None) or now
    if start.tzinfo is None or end.tzinfo is None:
        raise ApiError(422, "invalid_request", "from and to need a UTC offset")
    if not start < end or end - start > HISTORY_MAX:
        raise ApiError(422, "invalid_request", "from must be before to, at most 800 days apart")
    with call.ctx.sessions() as s:
        terms = account_terms(s, call.ctx.catalog.at(now), account, now)
    # A large organization's members by day over 800 days would be millions of rows, held in memory by the API
    # process every tenant shares: at most METERLINE_API_USAGE_HISTORY_MAX_ROWS are read.
    most = call.ctx.settings.api_usage_history_max_rows
    days = call.ctx.warehouse.usage_days(
        account, start, end, metric=q.metric, user_id=user_id, by_user=by_user, limit=most + 1
    )
    if len(days) > most:
        raise ApiError(
            422,
            "too_many_rows",
            f"more than {most} rows of usage by day: ask for a shorter from-to, one metric or one user_id",
        )
    rows = []
    if q.granularity == "day":
        for d, metric, user, qty, events in days:
            day_start = datetime(d.year, d.month, d.day, tzinfo=UTC)
            rows.append(
                UsageRow(
                    start=day_start,
                    end=day_start + timedelta(days=1),
                    metric=metric,
                    user_id=user,
                    quantity=_text(qty) or "0",
                    events=events,
                )
            )
    else:
        for p, metric, user, qty, events in by_period(days, terms.anchor):
            rows.append(
                UsageRow(
                    start=p.start, end=p.end, metric=metric, user_id=user, quantity=_text(qty) or "0", events=events
                )
            )
    return UsageHistory(account_id=account, granularity=q.granularity, rows=rows)


def usage_history(call: Call) -> UsageHistory:
    q: UsageHistoryQuery = call.query
    with call.ctx.sessions() as s:
        who = caller(call, s)
        access = account_access(s, who, q.account)
    # A member reads its own usage, and its own share of its organization's usage, nothing else.
    own_share = access.organization_id == q.account and q.user_id is not None and q.user_id == who.user_id
    if not (access.is_self or access.reads_all or own_share):
        raise ApiError(403, "forbidden", f"the role {access.role} reads only its own usage (user_id=<you>)")
    return _history(call, q.account, q, q.user_id, q.by_user)


def organization_usage(call: Call) -> UsageHistory:
    q: OrgUsageQuery = call.query
    with call.ctx.sessions() as s:
        require_role(s, caller(call, s), call.path["id"], READ_ALL)
    return _history(call, call.path["id"], q, None, True)


_TAG = "usage"
ENDPOINTS = [
    Endpoint(
        "GET",
        "/api/billing/entitlements/{account}/{feature}",
        entitlement,
        "Is a feature or metric allowed now: limit, used, remaining (for gateways, per request)",
        "entitlements",
        Entitlement,
        path_params={"account": ID_PATTERN, "feature": r"^[a-z][a-z0-9_]{0,63}$"},
        description="feature: a tier feature (ai_twin, ...), a metric (api_calls, storage_gb, ...) or a premium "
        "feature (deep_research, ...). A canceled or unpaid subscription is entitled as the default (free) tier.",
        query=EntitlementQuery,
        inline=True,
    ),
    Endpoint(
        "GET",
        "/api/billing/usage/current",
        usage_current,
        "Live period-to-date usage per metric with included, remaining and provisional charges",
        _TAG,
        UsageCurrent,
        query=UsageCurrentQuery,
        errors=(401, 403, 404),
        inline=True,
    ),
    Endpoint(
        "GET",
        "/api/billing/usage/history",
        usage_history,
        "Settled usage by day or period, filterable by metric and user",
        _TAG,
        UsageHistory,
        query=UsageHistoryQuery,
        errors=(401, 403, 404, 503),
        description="At most 800 days; 422 too_many_rows when the days, metrics and users asked for come to more "
        "than METERLINE_API_USAGE_HISTORY_MAX_ROWS (100,000) rows by day.",
    ),
    Endpoint(
        "GET",
        "/api/billing/organizations/{id}/usage",
        organization_usage,
        "Settled usage of an organization per member",
        "organizations",
        UsageHistory,
        query=OrgUsageQuery,
        path_params={"id": ORG_ID_PATTERN},
        errors=(401, 403, 404, 503),
    ),
]
