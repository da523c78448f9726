"""Which account, subscription version, tier and period an event is rated under — cached per hour.

Resolving an event costs a few history and catalog look-ups, paid per event it would dominate the
live stage. Within an hour the answer rarely changes, so it is cached per account (the organization,
then the user) and hour when the answer at the hour's first and last millisecond is the same: ``at`` returns the latest
version in effect, so equal ends mean no version, billability, period or catalog change in between.
An hour with a change inside is resolved per event. A new subscription record of an account makes
that account's cached hours stale (the others stay).
"""

from __future__ import annotations

from dataclasses import dataclass

from rating.catalog.loader import Catalog
from rating.catalog.model import CatalogVersion, MeteredRule, Tier
from rating.periods import HOUR_MS
from rating.quota import metric_rule
from rating.settle import account_period, tier_name
from rating.subscriptions import SubscriptionVersion, billable_org_version, rated_tier
from schemas.events import epoch_ms, from_epoch_ms
from streams.subscriptions.registry import SubscriptionRegistry

#: Cached hours kept before the cache starts over (bounded memory for any number of accounts).
MAX_CACHED = 500_000


@dataclass(frozen=True, slots=True)
class Resolved:
    billed: str
    version: SubscriptionVersion
    catalog: CatalogVersion
    tier: Tier
    tier_name: str
    period: str
    period_start_ms: int
    period_end_ms: int

    def rule(self, metric: str) -> MeteredRule:
        return metric_rule(self.tier, metric)

    def same_terms(self, other: Resolved) -> bool:
        return (
            self.billed == other.billed
            and self.period == other.period
            and self.catalog is other.catalog
            and self.version == other.version
        )


class Resolver:
    def __init__(self, registry: SubscriptionRegistry, catalog: Catalog) -> None:
        self._registry, self._catalog = registry, catalog
        # (account, hour) -> (the account's terms all hour, the registry generation they were read at);
        # None: they change inside the hour; False: an organization not billable all hour (its members
        # are billed themselves).
        self._cache: dict[tuple[str, int], tuple[Resolved | bool | None, int]] = {}

    def resolve(self, org_id: str | None, user_id: str, ts_ms: int) -> Resolved:
        """docs/architecture.md §4: the organization's terms while it is billable, else the user's own."""
        if len(self._cache) > MAX_CACHED:
            self._cache.clear()
        if org_id:
            org = self._cached(org_id, True, ts_ms)
            if org is not None:
                return org
        user = self._cached(user_id, False, ts_ms)
        assert user is not None, "a user always has terms (the free tier at least)"
        return user

    def _cached(self, account: str, org: bool, ts_ms: int) -> Resolved | None:
        cached = self.hour_terms(account, org, ts_ms // HOUR_MS)
        if cached is False:
            return None
        return cached if isinstance(cached, Resolved) else self._at(account, org, ts_ms)

    def hour_terms(self, account: str, org: bool, hour: int) -> Resolved | bool | None:
        """The account's terms all ``hour`` long; None: they change inside it (resolve per event with
        ``at``); False: an organization not billable all hour (its members are billed themselves)."""
        if len(self._cache) > MAX_CACHED:
            self._cache.clear()
        key = (account, hour)
        hit = self._cache.get(key)
        # A new version of this account (put later, any effective time) makes what was cached stale.
        if hit is None or hit[1] < self._registry.changed_at(account):
            first = self._at(account, org, hour * HOUR_MS)
            last = self._at(account, org, hour * HOUR_MS + HOUR_MS - 1)
            cached: Resolved | bool | None
            if first is None or last is None:
                cached = False if first is last else None
            else:
                cached = first if first.same_terms(last) else None
            hit = self._cache[key] = (cached, self._registry.generation)
        return hit[0]

    def at(self, account: str, org: bool, ts_ms: int) -> Resolved | None:
        """The account's terms at ``ts_ms`` (not cached); None for an organization not billable then."""
        return self._at(account, org, ts_ms)

    def _at(self, account: str, org: bool, ts_ms: int) -> Resolved | None:
        """The account's terms at ``ts_ms``; None for an organization that is not billable then."""
        at = from_epoch_ms(ts_ms)
        if org:
            billable = billable_org_version(self._registry.history(account), at)
            if billable is None:
                return None
            version = billable
        else:
            version = self._registry.version_at(account, "user", at)
        cat = self._catalog.at(at)
        # Settlement's rule (rating/settle.py): usage before the account's first version falls in periods
        # on that version's anchor, not on the 1st (docs/rating.md "Periods").
        period = account_period(account, self._registry.history, at)
        return Resolved(
            account,
            version,
            cat,
            rated_tier(version, cat),  # the same terms settlement uses (canceled → default tier)
            tier_name(version, cat),
            period.key,
            epoch_ms(period.start),
            epoch_ms(period.end),
        )
