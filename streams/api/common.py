"""Helpers the routers share: the caller, an account's subscription now, the terms it is entitled to."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

import jwt
from sqlalchemy.orm import Session, sessionmaker

from rating.catalog.model import CatalogVersion, Tier
from rating.lifecycle import TransitionError
from rating.periods import Period as RatingPeriod
from rating.periods import period_containing
from rating.subscriptions import Status, SubscriptionHistory, SubscriptionVersion, anchor_at
from streams.api.auth import AccountAccess, Principal, account_access, authenticate
from streams.api.errors import ApiError
from streams.api.limits import check_failures, count_failure, drafts_limit
from streams.api.models import Period
from streams.api.routing import Call
from streams.api.store_cache import INLINE, NeedsStore
from streams.api.web_session import has_session_cookie, session_principal
from streams.store import subscription_store as store
from streams.store.orgs import KEY_PREFIX

#: Statuses under which an account keeps its tier's entitlements; otherwise the catalog's default tier.
ENTITLED_STATUSES = frozenset({"trialing", "active", "past_due"})


def caller(call: Call, s: Session) -> Principal:
    """The authenticated caller; an address that failed too often lately gets 429 before any check."""
    now = call.ctx.clock().timestamp()
    check_failures(call.ctx.limits, call.request, now)
    header = call.request.headers.get("authorization")
    if header is None and has_session_cookie(call.request):
        if INLINE.get():
            raise NeedsStore  # sessions are read from the store each time: a sign-out applies at once
        try:
            return session_principal(s, call.request, call.ctx.clock())
        except ApiError as exc:
            if exc.status == 401:
                count_failure(call.ctx.limits, call.request, now)
            raise
    try:
        return call.ctx.cache.get(  # streams/api/store_cache.py: only successes are kept
            "caller",
            header,
            lambda: authenticate(s, call.request, call.ctx.jwt_secret, call.ctx.settings),
            lambda _: _token_expiry(header),
        )
    except ApiError as exc:
        if exc.status == 401 and call.request.headers.get("authorization"):
            count_failure(call.ctx.limits, call.request, now)
        raise


def _token_expiry(header: str | None) -> float:
    """When a cached caller must be authenticated again at the latest: a JWT's ``exp`` (its signature and
    claims were verified just before), never for an API key (revocation invalidates the cache)."""
    token = (header or "").partition(" ")[2].strip()
    if token.startswith(f"{KEY_PREFIX}_"):
        return float("inf")
    try:
        exp = jwt.decode(token, options={"verify_signature": False}).get("exp")
    except jwt.InvalidTokenError:
        return 0.0
    return float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else 0.0


def cached_access(call: Call, s: Session, who: Principal, account: str) -> AccountAccess:
    """``account_access`` through the cache (its 404 too): the gateway's check, per request."""
    return call.ctx.cache.get("access", (who, account), lambda: account_access(s, who, account))


def transition_error(exc: TransitionError) -> ApiError:
    return ApiError(exc.status, exc.code, exc.message)


def period_out(p: RatingPeriod) -> Period:
    return Period(key=p.key, start=p.start, end=p.end)


@dataclass(frozen=True, slots=True)
class AccountTerms:
    """What an account is entitled to now."""

    version: SubscriptionVersion | None  # None: no subscription
    tier_name: str
    tier: Tier
    anchor: date

    @property
    def status(self) -> Status | None:
        return self.version.status if self.version is not None else None

    def period(self, now: datetime) -> RatingPeriod:
        return period_containing(self.anchor, now)


def account_terms(s: Session, catalog: CatalogVersion, account: str, now: datetime) -> AccountTerms:
    """The version in effect now and its tier; canceled, unpaid or no subscription: the default tier
    (the free tier's entitlements, docs/architecture.md §5 and the dunning rule of issue 6)."""
    return terms_of(store.history(s, account), catalog, now)


def cached_terms(call: Call, s: Session, catalog: CatalogVersion, account: str, now: datetime) -> AccountTerms:
    """``account_terms`` from the cached subscription history (read-only endpoints; writers read the store)."""
    return terms_of(call.ctx.cache.get("history", account, lambda: store.history(s, account)), catalog, now)


def terms_of(history: SubscriptionHistory, catalog: CatalogVersion, now: datetime) -> AccountTerms:
    version = history.at(now)
    anchor = anchor_at(history, now)  # settlement's rule, so the API shows the period settlement bills
    if version is not None and version.status in ENTITLED_STATUSES and version.tier in catalog.tiers:
        return AccountTerms(version, version.tier, version.tier_of(catalog.tiers), anchor)
    default = catalog.default_tier
    if default is None:
        raise ApiError(503, "no_default_tier", f"catalog {catalog.version} has no default tier")
    return AccountTerms(version, default, catalog.tiers[default], anchor)


def invoice_reader(s: Session, who: Principal, account: str) -> AccountAccess:
    """The caller's access to ``account`` when it may read its invoices (and what is priced like them)."""
    access = account_access(s, who, account)
    if not access.reads_all:
        raise ApiError(403, "forbidden", f"the role {access.role} may not read the organization's invoices")
    return access


def store_histories(sessions: sessionmaker[Session]) -> Callable[[str], SubscriptionHistory | None]:
    """The settler's history lookup over the billing store (None: the account has no subscription)."""

    def histories(account: str) -> SubscriptionHistory | None:
        with sessions() as hs:
            h = store.history(hs, account)
        return h if h.versions else None

    return histories


def invoiced_period_now(call: Call, account: str) -> RatingPeriod:
    """The account's current period, when the caller may read its invoices (403/404 otherwise), for a draft of an
    invoice to come: one of the account's drafts this minute (``drafts_limit``, 429 once they are spent)."""
    now = call.ctx.clock()
    with call.ctx.sessions() as s:
        invoice_reader(s, caller(call, s), account)
        drafts_limit(call.ctx.limits, account, now.timestamp())
        return account_terms(s, call.ctx.catalog.at(now), account, now).period(now)
