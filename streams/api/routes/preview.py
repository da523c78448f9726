"""``POST /api/billing/subscriptions/{id}/preview``: what a change, a cancellation or a reactivation would cost,
before it is made; ``POST /api/billing/subscriptions/preview``: what a new subscription would. The transition is
the lifecycle's own (``rating.lifecycle``: the same refusals as the real endpoints), the versions it would write
are the store's own (``versions_to_write``), and the invoices are the settlement's drafts (``Warehouse.upcoming``,
the code behind ``GET /invoices/upcoming``) over the history as it is and as it would be. Nothing is written."""

from __future__ import annotations

from decimal import Decimal

from rating import lifecycle
from rating.lifecycle import Identity
from rating.periods import Period, period_containing
from rating.settle import HistoryLookup
from rating.subscriptions import SubscriptionHistory, SubscriptionVersion
from streams.api.common import caller, period_out, terms_of, transition_error
from streams.api.limits import drafts_limit
from streams.api.models import (
    SUB_ID_PATTERN,
    InvoiceDocument,
    SubscriptionCreate,
    SubscriptionPreview,
    SubscriptionPreviewRequest,
)
from streams.api.routes.subscriptions import PREFIX, load_subscription, open_slot, owned_account
from streams.api.routing import Call, Endpoint
from streams.store import subscription_store as store
from streams.store.addons import store_addons
from streams.store.credits import store_credits
from streams.store.memberships import store_memberships


def preview_subscription(call: Call) -> SubscriptionPreview:
    body: SubscriptionPreviewRequest = call.body
    now = call.ctx.clock()
    catalog_now = call.ctx.catalog.at(now)
    with call.ctx.sessions() as s:
        # Only who may make the change may preview it (an owner or admin, or the person for their own account).
        row = load_subscription(s, caller(call, s), call.path["id"], manage=True)
        account = row.account_id
        drafts_limit(call.ctx.limits, account, now.timestamp())
        try:
            if body.action == "change":
                plan, kind = lifecycle.change(
                    store.plan_of(row), catalog_now, account, row.anchor, now, body.tier, body.interval
                )
            elif body.action == "cancel":
                plan = lifecycle.cancel(store.plan_of(row), row.anchor, now, immediately=body.immediately)
                kind = "cancel_now" if body.immediately else "cancel_at_period_end"
            else:
                plan, kind = lifecycle.reactivate(store.plan_of(row), now), "reactivate"
        except lifecycle.TransitionError as exc:
            raise transition_error(exc) from exc
        before = store.history(s, account)
        written = lifecycle.versions_to_write(before, store.identity_of(row), plan, now)
    period = terms_of(before, catalog_now, now).period(now)
    return _preview(call, kind, before, written, period, period_containing(row.anchor, period.end))


def preview_create(call: Call) -> SubscriptionPreview:
    """What ``POST /subscriptions/create`` with the same body would charge: its first period's invoice (the base
    fee prorated from now when the period started earlier today) and the next one; nothing is written."""
    body: SubscriptionCreate = call.body
    now = call.ctx.clock()
    with call.ctx.sessions() as s:
        # Only who may create it may preview it, and only while the account may have a new one.
        _, account = owned_account(s, caller(call, s), body)
        open_slot(s, account, now)
        drafts_limit(call.ctx.limits, account, now.timestamp())
        try:
            plan = lifecycle.create(call.ctx.catalog.at(now), body.tier, body.interval, now, body.trial_days)
        except lifecycle.TransitionError as exc:
            raise transition_error(exc) from exc
        before = store.history(s, account)
    anchor = body.anchor or now.date()
    written = lifecycle.versions_to_write(before, Identity(account, body.account_kind, anchor), plan, now)
    period = period_containing(anchor, now)
    return _preview(call, "create", before, written, period, period_containing(anchor, period.end))


def _preview(
    call: Call,
    kind: str,
    before: SubscriptionHistory,
    written: list[SubscriptionVersion],
    period: Period,
    next_period: Period,
) -> SubscriptionPreview:
    """The invoices of ``period`` without and with ``written``, and of ``next_period`` with them: the settlement's
    drafts (``Warehouse.upcoming``) over the history as it is and as it would be."""
    now = call.ctx.clock()
    account = before.account_id
    after = SubscriptionHistory(account, [*before.versions, *written])

    def lookup(history: SubscriptionHistory) -> HistoryLookup:
        def histories(acc: str) -> SubscriptionHistory | None:
            if acc == account:
                return history if history.versions else None
            with call.ctx.sessions() as hs:
                h = store.history(hs, acc)
            return h if h.versions else None

        return histories

    sessions = call.ctx.sessions
    addons, credits, members = store_addons(sessions), store_credits(sessions), store_memberships(sessions)

    def draft(history: SubscriptionHistory, p: Period) -> InvoiceDocument | None:
        doc = call.ctx.warehouse.upcoming(call.ctx.catalog, lookup(history), account, p, addons, credits, members)
        return InvoiceDocument.model_validate(doc) if doc is not None else None

    current, preview, following = draft(before, period), draft(after, period), draft(after, next_period)

    def total(doc: InvoiceDocument | None) -> Decimal:
        return Decimal(doc.total) if doc is not None else Decimal(0)

    effective = min((v.effective_from for v in written), default=now)
    shown = preview or current or following
    return SubscriptionPreview(
        change=kind,
        effective_from=effective,
        currency=shown.currency if shown is not None else call.ctx.catalog.at(now).currency,
        current_period=period_out(period),
        current_invoice_total=total(current),
        preview_invoice_total=total(preview),
        proration=total(preview) - total(current),
        next_period=period_out(next_period),
        next_invoice_total=total(following),
        preview_invoice=preview,
        next_invoice=following,
    )


ENDPOINTS = [
    Endpoint(
        "POST",
        f"{PREFIX}/preview",
        preview_create,
        "Preview a new subscription: its first invoice and the next one (nothing is created)",
        "subscriptions",
        SubscriptionPreview,
        body=SubscriptionCreate,
        errors=(401, 403, 404, 409, 503),
        description="The same body and rules as POST /subscriptions/create (only for an account the caller owns; 409 "
        "subscription_exists while it has one); change is 'create', current_period the first period, proration "
        "what the subscription adds to that period's invoice (its base fee, prorated when the period started "
        "before now).",
    ),
    Endpoint(
        "POST",
        f"{PREFIX}/{{id}}/preview",
        preview_subscription,
        "Preview a change, cancellation or reactivation: the proration now and the next invoice (nothing changes)",
        "subscriptions",
        SubscriptionPreview,
        body=SubscriptionPreviewRequest,
        path_params={"id": SUB_ID_PATTERN},
        errors=(401, 403, 404, 409, 503),
        description="The same rules as the lifecycle endpoints (409 with their code when the change would be "
        "refused: past due, canceling, no change...); the invoices are the settlement's drafts over the usage "
        "settled so far, with and without the change.",
    ),
]
