"""``/api/billing/subscriptions``: create, read, change, cancel, reactivate (lifecycle in ``lifecycle``).

Every change commits the plan, its versions and their outbox rows in one transaction, then wakes
the outbox relay, which publishes them to ``billing.subscriptions``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rating import lifecycle
from rating.periods import period_containing
from streams.api.audit import audit_change
from streams.api.auth import ANY, MANAGE, READ_ALL, Principal, account_access, is_own_account, require_role
from streams.api.common import caller, period_out, transition_error
from streams.api.errors import ApiError
from streams.api.models import (
    ORG_ID_PATTERN,
    SUB_ID_PATTERN,
    AccountRef,
    CancelRequest,
    PendingChange,
    SubscriptionCreate,
    SubscriptionList,
    SubscriptionOut,
    SubscriptionRecord,
    SubscriptionUpdate,
)
from streams.api.routing import Call, Endpoint
from streams.store import orgs
from streams.store import subscription_store as store
from streams.store.models import Organization, Subscription

PREFIX = "/api/billing/subscriptions"


def render(s: Session, row: Subscription, now: datetime, change: str | None = None) -> SubscriptionOut:
    plan = store.plan_of(row).at(now)
    pending = None
    if plan.pending_at is not None:
        pending = PendingChange(
            tier=plan.pending_tier or plan.tier,
            interval=plan.pending_interval or plan.interval,
            effective_from=plan.pending_at,
        )
    return SubscriptionOut(
        id=row.id,
        organization_id=row.organization_id,
        account_id=row.account_id,
        account_kind=row.account_kind,  # type: ignore[arg-type]
        tier=plan.tier,
        interval=plan.interval,
        status=plan.status,
        anchor=row.anchor,
        current_period=period_out(period_containing(row.anchor, now)),
        trial_end=plan.trial_end if plan.status == "trialing" else None,
        cancel_at=plan.cancel_at,
        pending_change=pending,
        grace_until=plan.grace_until,
        stripe_customer_id=row.stripe_customer_id,
        stripe_subscription_id=row.stripe_subscription_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        change=change,
        # Without the contract: its negotiated prices are for who manages billing (GET .../contract), and viewers
        # read subscriptions too.
        versions=[
            SubscriptionRecord.model_validate(v.model_dump(exclude={"contract"}))
            for v in store.versions(s, row.account_id)
        ],
    )


def load_subscription(s: Session, who: Principal, subscription_id: str, *, manage: bool) -> Subscription:
    row = store.get(s, subscription_id, for_update=manage)
    try:  # whoever may reach the account (auth.account_access): a person's own, never through an organization
        access = account_access(s, who, row.account_id) if row is not None else None
    except ApiError:
        access = None
    if row is None or access is None:
        raise ApiError(404, "not_found", f"no subscription {subscription_id}")
    if not (access.manages if manage else access.reads_all):
        raise ApiError(403, "forbidden", f"the role {access.role} may not do this")
    return row


def _commit(call: Call, work: Callable[[Session], SubscriptionOut]) -> SubscriptionOut:
    try:
        with call.ctx.sessions.begin() as s:
            out = work(s)
    except lifecycle.TransitionError as exc:
        raise transition_error(exc) from exc
    except IntegrityError as exc:
        raise ApiError(409, "concurrent_change", "the subscription changed at the same time: retry") from exc
    call.ctx.notify_outbox()
    return out


def create_subscription(call: Call) -> SubscriptionOut:
    body: SubscriptionCreate = call.body
    now = call.ctx.clock()

    def work(s: Session) -> SubscriptionOut:
        who = caller(call, s)
        org_id, account = owned_account(s, who, body)
        # The open slot (unique per account) is what keeps concurrent creates to one: the loser's insert
        # fails on it, and its transaction changes nothing (README, "The billing API").
        existing = open_slot(s, account, now)
        if existing is not None:
            existing.open_account_id = None
            s.flush()
        plan = lifecycle.create(call.ctx.catalog.at(now), body.tier, body.interval, now, body.trial_days)
        row = Subscription(
            id=orgs.new_id("msub"),
            organization_id=org_id,
            account_id=account,
            account_kind=body.account_kind,
            anchor=body.anchor or now.date(),
            tier=plan.tier,
            interval=plan.interval,
            status=plan.status,
            open_account_id=account,
            created_at=now,
            updated_at=now,
        )
        s.add(row)
        try:
            s.flush()
        except IntegrityError as exc:  # a concurrent create of the same account took the open slot
            raise ApiError(409, "subscription_exists", "the account already has a subscription") from exc
        store.save_plan(s, row, plan, now, "create")
        audit_change(call, s, who, org_id, "subscription.created", target=row.id, after=_audited(row))
        return render(s, row, now, "create")

    return _commit(call, work)


_NOT_OWN = "a user subscription is made by that user, with its own token without 'org'"


def open_slot(s: Session, account: str, now: datetime) -> Subscription | None:
    """The account's canceled subscription still holding its open slot (a create takes the slot over), or None;
    409 subscription_exists while the account has one that is not canceled."""
    existing = store.open_subscription(s, account)
    if existing is not None and store.plan_of(existing).at(now).status != "canceled":
        raise ApiError(409, "subscription_exists", "the account already has a subscription")
    return existing


def owned_account(s: Session, who: Principal, body: SubscriptionCreate) -> tuple[str | None, str]:
    """The organization a new subscription is made in and the account it is for: the caller's organization
    (owner or admin, or an admin key), or the caller itself (a person's own token without 'org', in an
    organization it belongs to or, naming none, in no organization). Never another person's or
    organization's account (issue 13: subscription squatting)."""
    if body.account_kind == "user" and body.organization_id is None and who.organization_id is None:
        user = body.account_id or who.user_id
        if user is None or not is_own_account(who, user):
            raise ApiError(403, "forbidden", _NOT_OWN)
        return None, _person(s, user)
    org_id = body.organization_id or who.organization_id
    if org_id is None:
        raise ApiError(422, "invalid_request", "organization_id: required for a token without an 'org' claim")
    return org_id, _owned_account(s, who, org_id, body)


def _person(s: Session, user: str) -> str:
    if s.get(Organization, user) is not None:
        raise ApiError(422, "invalid_request", "account_id: an organization is not a user account")
    return user


def _owned_account(s: Session, who: Principal, org_id: str, body: SubscriptionCreate) -> str:
    if body.account_kind == "org":
        require_role(s, who, org_id, MANAGE)
        account = body.account_id or org_id
        if account != org_id:
            raise ApiError(422, "invalid_request", "account_id: an org subscription's account is the organization")
        return account
    require_role(s, who, org_id, ANY)
    user = body.account_id or who.user_id
    if user is None or not is_own_account(who, user):
        # The same rule that lets a person reach the account afterwards (auth.account_access).
        raise ApiError(403, "forbidden", _NOT_OWN)
    return _person(s, user)


def get_subscription(call: Call) -> SubscriptionOut:
    with call.ctx.sessions() as s:
        row = load_subscription(s, caller(call, s), call.path["id"], manage=False)
        return render(s, row, call.ctx.clock())


def update_subscription(call: Call) -> SubscriptionOut:
    body: SubscriptionUpdate = call.body
    now = call.ctx.clock()

    def work(s: Session) -> SubscriptionOut:
        who = caller(call, s)
        row = load_subscription(s, who, call.path["id"], manage=True)
        before = _audited(row)
        plan, kind = lifecycle.change(
            store.plan_of(row),
            call.ctx.catalog.at(now),
            row.account_id,
            row.anchor,
            now,
            body.tier,
            body.interval,
        )
        store.save_plan(s, row, plan, now, kind)
        _audit(call, s, who, row, "subscription.changed", before, kind)
        return render(s, row, now, kind)

    return _commit(call, work)


def _audited(row: Subscription) -> dict[str, object]:
    """What the audit log keeps of a subscription's plan before and after a change."""
    at = (row.pending_at, row.cancel_at, row.trial_end)
    return {
        "account_id": row.account_id,
        "tier": row.tier,
        "interval": row.interval,
        "status": row.status,
        "pending_tier": row.pending_tier,
        "pending_interval": row.pending_interval,
        "pending_at": at[0].isoformat() if at[0] else None,
        "cancel_at": at[1].isoformat() if at[1] else None,
        "trial_end": at[2].isoformat() if at[2] else None,
    }


def _audit(
    call: Call, s: Session, who: Principal, row: Subscription, action: str, before: dict[str, object], kind: str
) -> None:
    after = {**_audited(row), "change": kind}
    audit_change(call, s, who, row.organization_id, action, target=row.id, before=before, after=after)


def _cancel(call: Call, immediately: bool) -> SubscriptionOut:
    now = call.ctx.clock()

    def work(s: Session) -> SubscriptionOut:
        who = caller(call, s)
        row = load_subscription(s, who, call.path["id"], manage=True)
        before = _audited(row)
        plan = lifecycle.cancel(store.plan_of(row), row.anchor, now, immediately=immediately)
        kind = "cancel_now" if immediately else "cancel_at_period_end"
        store.save_plan(s, row, plan, now, kind)
        _audit(call, s, who, row, "subscription.canceled", before, kind)
        return render(s, row, now, kind)

    return _commit(call, work)


def cancel_subscription(call: Call) -> SubscriptionOut:
    body: CancelRequest = call.body
    return _cancel(call, body.immediately)


def delete_subscription(call: Call) -> SubscriptionOut:
    return _cancel(call, True)


def reactivate_subscription(call: Call) -> SubscriptionOut:
    now = call.ctx.clock()

    def work(s: Session) -> SubscriptionOut:
        who = caller(call, s)
        row = load_subscription(s, who, call.path["id"], manage=True)
        before = _audited(row)
        plan = lifecycle.reactivate(store.plan_of(row), now)
        store.save_plan(s, row, plan, now, "reactivate")
        _audit(call, s, who, row, "subscription.reactivated", before, "reactivate")
        return render(s, row, now, "reactivate")

    return _commit(call, work)


def organization_subscriptions(call: Call) -> SubscriptionList:
    with call.ctx.sessions() as s:
        who = caller(call, s)
        require_role(s, who, call.path["id"], READ_ALL)
        now = call.ctx.clock()
        rows = [r for r in store.for_organization(s, call.path["id"]) if r.account_id == call.path["id"]]
        return SubscriptionList(subscriptions=[render(s, r, now) for r in rows])


def account_subscriptions(call: Call) -> SubscriptionList:
    """An account's subscriptions, for whoever may read the account (a person's own, an organization's readers)."""
    q: AccountRef = call.query
    with call.ctx.sessions() as s:
        access = account_access(s, caller(call, s), q.account)
        if not access.reads_all:
            raise ApiError(403, "forbidden", f"the role {access.role} may not do this")
        now = call.ctx.clock()
        return SubscriptionList(subscriptions=[render(s, r, now) for r in store.for_account(s, q.account)])


_ID = {"id": SUB_ID_PATTERN}
_TAG = "subscriptions"
_ERR = (401, 403, 404, 409)

ENDPOINTS = [
    Endpoint(
        "GET",
        PREFIX,
        account_subscriptions,
        "An account's subscriptions (a person's own account, or an organization's), oldest first",
        _TAG,
        SubscriptionList,
        query=AccountRef,
    ),
    Endpoint(
        "POST",
        f"{PREFIX}/create",
        create_subscription,
        "Create a subscription (tier, month or year, optional trial)",
        _TAG,
        SubscriptionOut,
        status=201,
        body=SubscriptionCreate,
        errors=_ERR,
        description="Only for an account the caller owns: its organization (an owner or admin, or an admin API "
        "key), or itself (a user's own token, for a user subscription in an organization it belongs to). An "
        "account has one subscription that is not canceled (409 subscription_exists, however requests race). "
        "Stripe ids are not taken: Meterline's Stripe mirror sets them.",
    ),
    Endpoint(
        "GET",
        f"{PREFIX}/{{id}}",
        get_subscription,
        "A subscription and its versions",
        _TAG,
        SubscriptionOut,
        path_params=_ID,
    ),
    Endpoint(
        "PUT",
        f"{PREFIX}/{{id}}",
        update_subscription,
        "Change tier or interval: an upgrade at once (base fee prorated), a downgrade at the period end",
        _TAG,
        SubscriptionOut,
        body=SubscriptionUpdate,
        path_params=_ID,
        errors=_ERR,
    ),
    Endpoint(
        "DELETE",
        f"{PREFIX}/{{id}}",
        delete_subscription,
        "Cancel a subscription at once",
        _TAG,
        SubscriptionOut,
        path_params=_ID,
        errors=_ERR,
    ),
    Endpoint(
        "POST",
        f"{PREFIX}/{{id}}/cancel",
        cancel_subscription,
        "Cancel at the end of the current period (or immediately)",
        _TAG,
        SubscriptionOut,
        body=CancelRequest,
        body_optional=True,
        path_params=_ID,
        errors=_ERR,
    ),
    Endpoint(
        "POST",
        f"{PREFIX}/{{id}}/reactivate",
        reactivate_subscription,
        "Undo a pending cancellation",
        _TAG,
        SubscriptionOut,
        path_params=_ID,
        errors=_ERR,
    ),
    Endpoint(
        "GET",
        "/api/billing/organizations/{id}/subscriptions",
        organization_subscriptions,
        "The subscriptions of an organization (its own account's)",
        "organizations",
        SubscriptionList,
        path_params={"id": ORG_ID_PATTERN},
    ),
]
