"""The billing API's request limits (docs/security.md): the catalog tier's API calls a minute for usage
recorded through the API, counted per billing account of the credential (an organization's keys and
tokens share its budget, so a new key does not reset it), and a throttle of failed credentials per
client address. Both answer 429 with ``Retry-After``; state is in memory per process."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session
from starlette.requests import Request

from streams.api.auth import Principal
from streams.api.errors import ApiError
from streams.rate_limits import Buckets, Decision

if TYPE_CHECKING:
    from streams.api.context import ApiContext


class StreamSlots:
    """The live streams (server-sent events) open per account in this process: each holds a connection and is
    read again on every change, so one account's many cannot crowd out everyone else's."""

    def __init__(self) -> None:
        self._open: Counter[str] = Counter()
        self._lock = threading.Lock()

    def take(self, account: str, most: int) -> bool:
        """One more stream of ``account``, unless ``most`` are open (0: no limit)."""
        with self._lock:
            if most > 0 and self._open[account] >= most:
                return False
            self._open[account] += 1
            return True

    def give_back(self, account: str) -> None:
        with self._lock:
            self._open[account] -= 1
            if self._open[account] <= 0:
                del self._open[account]


@dataclass
class ApiLimits:
    failures_per_minute: int
    accounts: Buckets = field(default_factory=Buckets)
    failures: Buckets = field(default_factory=Buckets)
    stripe_per_minute: int = 0
    stripe: Buckets = field(default_factory=Buckets)
    streams_per_account: int = 0
    streams: StreamSlots = field(default_factory=StreamSlots)
    drafts_per_minute: int = 0
    drafts: Buckets = field(default_factory=Buckets)


def client_address(request: Request) -> str:
    """The peer address as the server sees it (behind a proxy, run uvicorn with --forwarded-allow-ips)."""
    return request.client.host if request.client is not None else "unknown"


def too_many(d: Decision, message: str) -> ApiError:
    return ApiError(429, "rate_limited", message, {"Retry-After": str(max(1, d.retry_after))})


def check_failures(limits: ApiLimits, request: Request, now: float) -> None:
    """429 before any credential work when this address failed too often lately."""
    d = limits.failures.blocked(client_address(request), limits.failures_per_minute, now)
    if d is not None:
        raise too_many(d, "too many failed credentials from this address; retry later")


def count_failure(limits: ApiLimits, request: Request, now: float) -> None:
    limits.failures.take(client_address(request), limits.failures_per_minute, now)


def _spend(buckets: Buckets, per_minute: int, account: str, now: float, what: str) -> None:
    """Take one of ``account``'s requests of a kind (after its access is checked, so nobody spends another
    account's); 429 once this minute's are spent."""
    d = buckets.take(account, per_minute, now)
    if not d.allowed:
        raise too_many(d, f"at most {d.limit} {what} a minute per account; retry later")


def stripe_limit(limits: ApiLimits, account: str, now: float) -> None:
    """The routes that call Stripe: Stripe limits the platform's account as a whole, and one tenant's loop must not
    use up the others' payments."""
    _spend(limits.stripe, limits.stripe_per_minute, account, now, "payment requests")


def drafts_limit(limits: ApiLimits, account: str, now: float) -> None:
    """The routes that compute invoices to come over the warehouse (upcoming invoice, forecast, recommendations,
    previews, analytics): each takes a worker thread for a while, and the API's threads are everyone's."""
    _spend(limits.drafts, limits.drafts_per_minute, account, now, "drafts, forecasts and previews")


def billing_account(who: Principal) -> str:
    """The account whose tier limits this caller's API calls: its organization, else the user itself."""
    account = who.organization_id or who.user_id
    assert account is not None
    return account


def record_limit(s: Session, ctx: ApiContext, who: Principal) -> None:
    """Take one of the account's API calls for ``POST /usage/record``; 429 when the minute's budget is spent."""
    from streams.api.common import account_terms

    now = ctx.clock()
    account = billing_account(who)
    terms = account_terms(s, ctx.catalog.at(now), account, now)
    d = ctx.limits.accounts.take(account, terms.tier.rate_limit_per_minute, now.timestamp())
    if not d.allowed:
        raise too_many(d, f"the {terms.tier_name} tier allows {d.limit} API calls a minute; retry later")
