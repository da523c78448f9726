"""``POST /api/billing/subscriptions/{id}/preview``: what a change, a cancellation or a reactivation would cost,
before it is made. The transition is the lifecycle's own (``rating.lifecycle``: the same refusals as the real
endpoints), the versions it would write are the store's own (``versions_to_write``), and the invoices are the
settlement's drafts (``Warehouse.upcoming``, the code behind ``GET /invoices/upcoming``) over the history as it
is and as it would be. Nothing is written."""

from __future__ import annotations

from decimal import Decimal

from rating import lifecycle
from rating.periods import Period, period_containing
from rating.settle import HistoryLookup
from rating.subscriptions import SubscriptionHistory
from streams.api.common import caller, period_out, terms_of, transition_error
from streams.api.limits import drafts_limit
from streams.api.models import SUB_ID_PATTERN, InvoiceDocument, SubscriptionPreview, SubscriptionPreviewRequest
from streams.api.routes.subscriptions import PREFIX, load_subscription
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
    after = SubscriptionHistory(account, [*before.versions, *written])
    period = terms_of(before, catalog_now, now).period(now)
    next_period = period_containing(row.anchor, period.end)

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
        currency=shown.currency if shown is not None else catalog_now.currency,
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
