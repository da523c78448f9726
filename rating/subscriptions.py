"""Subscription versions in time (docs/architecture.md §4, §10): the version in effect at any instant."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rating.catalog.model import CatalogVersion, ContractOverrides, Tier
from rating.errors import RatingError
from rating.periods import Period, period_by_key, period_containing, require_aware

Status = Literal["trialing", "active", "past_due", "unpaid", "canceled"]
#: Statuses under which an organization's subscription carries its members' usage.
BILLABLE_STATUSES = frozenset({"trialing", "active", "past_due"})
#: Where an account without any subscription is anchored: calendar months.
DEFAULT_ANCHOR = date(2000, 1, 1)


class SubscriptionVersion(BaseModel):
    """One record of ``billing.subscriptions`` (key = account_id)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    account_id: str = Field(min_length=1)
    account_kind: Literal["user", "org"]
    tier: str = Field(min_length=1)
    status: Status = "active"
    interval: Literal["month", "year"] = "month"
    anchor: date
    effective_from: datetime
    version: int = Field(ge=0)
    stripe_customer_id: str | None = None
    stripe_subscription_id: str | None = None
    contract: ContractOverrides | None = None
    #: Why this version was written (``create``, ``upgrade``, ``payment_failed``, ``dunning_exhausted``,
    #: ``invoice_overdue``, ``payment_recovered``, ...); informative, never part of the terms.
    reason: str | None = Field(default=None, max_length=64)

    @field_validator("effective_from")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        return require_aware(v, "effective_from")

    def tier_of(self, tiers: dict[str, Tier]) -> Tier:
        """The tier's terms with this account's contract applied."""
        try:
            tier = tiers[self.tier]
        except KeyError as exc:
            raise RatingError(f"unknown tier {self.tier!r} for account {self.account_id}") from exc
        return self.contract.apply(tier) if self.contract else tier


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of a period under one subscription version."""

    start: datetime
    end: datetime
    version: SubscriptionVersion


class SubscriptionHistory:
    """All versions of one account; the latest ``version`` wins for the same ``effective_from``."""

    def __init__(self, account_id: str, versions: Iterable[SubscriptionVersion] = ()) -> None:
        self.account_id = account_id
        by_time: dict[datetime, SubscriptionVersion] = {}
        for v in versions:
            if v.account_id != account_id:
                raise RatingError(f"version of {v.account_id} given to the history of {account_id}")
            cur = by_time.get(v.effective_from)
            if cur is None or v.version > cur.version:
                by_time[v.effective_from] = v
        self.versions = sorted(by_time.values(), key=lambda v: v.effective_from)

    def at(self, when: datetime) -> SubscriptionVersion | None:
        when = require_aware(when, "when")
        found = None
        for v in self.versions:
            if v.effective_from <= when:
                found = v
        return found

    def segments(self, period: Period) -> list[Segment]:
        """The versions in effect during ``period``, clipped to it, in time order."""
        points = [period.start] + [
            v.effective_from for v in self.versions if period.start < v.effective_from < period.end
        ]
        out = []
        for i, start in enumerate(points):
            end = points[i + 1] if i + 1 < len(points) else period.end
            v = self.at(start)
            if v is not None:
                out.append(Segment(start, end, v))
        return out


def anchor_at(history: SubscriptionHistory | None, at: datetime) -> date:
    """The one rule for the anchor of an account's periods around ``at``: that of the version in effect,
    else of its first version (usage before a subscription starts falls in periods on the same anchor),
    else the 1st. Settlement, the live stage, the billing API and the invoice preview all use it."""
    if history is None or not history.versions:
        return DEFAULT_ANCHOR
    v = history.at(at) or history.versions[0]
    return v.anchor


def period_at(history: SubscriptionHistory | None, at: datetime) -> Period:
    """The account's usage period containing ``at``, on the anchor of :func:`anchor_at`."""
    return period_containing(anchor_at(history, at), at)


def period_named(history: SubscriptionHistory | None, key: str) -> Period:
    """The account's usage period named ``key`` (YYYY-MM, the month it starts in), on the anchor in effect
    when it starts: the anchor at the month's first instant names a candidate period, and the anchor in
    effect at that period's start decides (they differ only when a version takes effect in between)."""
    candidate = period_by_key(DEFAULT_ANCHOR, key)  # validates the key; starts on the month's 1st
    first = period_by_key(anchor_at(history, candidate.start), key)
    return period_by_key(anchor_at(history, first.start), key)


def billing_account(
    org_id: str | None, user_id: str, org_history: SubscriptionHistory | None, at: datetime
) -> tuple[str, SubscriptionVersion | None]:
    """docs/architecture.md §4: the organization when its subscription is billable at ``at``, otherwise the user.

    Returns the account and the organization's version when the organization is billed (the user's
    version must be looked up by the caller otherwise)."""
    v = billable_org_version(org_history, at) if org_id else None
    return (org_id, v) if org_id and v is not None else (user_id, None)


def billable_org_version(org_history: SubscriptionHistory | None, at: datetime) -> SubscriptionVersion | None:
    """The organization's version at ``at`` if it bills its members' usage then (docs/architecture.md §4), else None."""
    v = org_history.at(at) if org_history is not None else None
    return v if v is not None and v.status in BILLABLE_STATUSES else None


def billable_since(org_history: SubscriptionHistory | None, at: datetime) -> datetime | None:
    """When the stretch began over which the organization has been billable as it is at ``at`` (or not
    billable, as it is); None: it has been so since forever. Before it, its members' usage was billed the
    other way (to the organization, or to themselves)."""
    state, since = False, None  # no version: not billable
    for v in org_history.versions if org_history is not None else ():
        if v.effective_from > at:
            break
        billable = v.status in BILLABLE_STATUSES
        if billable != state:
            state, since = billable, v.effective_from
    return since


#: The version number of what an account is rated under when it has no subscription (the free tier of an account
#: without one, the default tier before a first subscription starts): stored versions are numbered from 1.
NO_SUBSCRIPTION = 0


def free_version(account_id: str, kind: Literal["user", "org"], anchor: date) -> SubscriptionVersion:
    """What an account without a subscription is rated under: the free tier since forever."""
    return SubscriptionVersion(
        account_id=account_id,
        account_kind=kind,
        tier="free",
        anchor=anchor,
        effective_from=datetime(1970, 1, 1, tzinfo=UTC),
        version=NO_SUBSCRIPTION,
    )


def rated_tier(version: SubscriptionVersion, catalog: CatalogVersion) -> Tier:
    """The terms usage is rated under: the version's tier with its contract; a canceled version is
    rated under the catalog's default tier (the live stage and the invoice must agree on this)."""
    if version.status != "canceled":
        return version.tier_of(catalog.tiers)
    if catalog.default_tier is None:
        raise RatingError(f"{version.account_id} is canceled and catalog {catalog.version} has no default_tier")
    return catalog.tiers[catalog.default_tier]
