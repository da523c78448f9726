"""One anchor rule (docs/rating.md "Periods"): for an account whose anchor changes between versions, the
billing API's current period, the invoice preview's period and settlement's period are the same.

The account's first version (Jan 10) is anchored on the 10th; a change scheduled for Apr 20 anchors it on
the 20th. On Mar 5 the version in effect is the first: the period is Feb 10 - Mar 10 ("2026-02"), not
Feb 20 - Mar 20 (the last version's anchor, which the API and the preview used to take).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from rating.catalog.loader import load_catalog
from rating.periods import Period
from rating.settle import account_period
from rating.subscriptions import SubscriptionHistory, SubscriptionVersion
from streams.api.common import account_terms
from streams.settlement.settler import period_of
from streams.store import orgs
from streams.store.db import make_engine, migrate, sessions
from streams.store.models import Subscription, SubscriptionVersionRow

NOW = datetime(2026, 3, 5, 12, tzinfo=UTC)
SUB = "msub_0000000000000020"
EXPECTED = Period(datetime(2026, 2, 10, tzinfo=UTC), datetime(2026, 3, 10, tzinfo=UTC))


def _versions(account: str) -> list[SubscriptionVersion]:
    """Anchored on Jan 10 from Jan 10, then (scheduled) on Apr 20 from Apr 20."""
    return [
        SubscriptionVersion(
            account_id=account,
            account_kind="org",
            tier="standard",
            anchor=day,
            effective_from=datetime(day.year, day.month, day.day, tzinfo=UTC),
            version=n,
        )
        for n, day in enumerate((date(2026, 1, 10), date(2026, 4, 20)), start=1)
    ]


def test_the_api_the_invoice_preview_and_settlement_use_one_anchor(store_url: str) -> None:
    engine = make_engine(store_url)
    migrate(engine)
    with sessions(engine).begin() as s:
        org = orgs.create_organization(s, "Acme", "ann", NOW)
        account = org.id
        s.add(
            Subscription(
                id=SUB,
                organization_id=org.id,
                account_id=account,
                account_kind="org",
                anchor=date(2026, 4, 20),
                tier="standard",
                interval="month",
                status="active",
                contract={},
                created_at=NOW,
                updated_at=NOW,
            )
        )
        s.flush()
        for v in _versions(account):
            s.add(
                SubscriptionVersionRow(
                    subscription_id=SUB,
                    account_id=account,
                    version=v.version,
                    effective_from=v.effective_from,
                    record=v.model_dump(mode="json"),
                    reason="create",
                    created_at=NOW,
                )
            )
    history = SubscriptionHistory(account, _versions(account))

    def histories(_: str) -> SubscriptionHistory:
        return history

    settled = account_period(account, histories, NOW)
    with sessions(engine).begin() as s:
        api = account_terms(s, load_catalog().at(NOW), account, NOW).period(NOW)
    preview = period_of(account, histories, "2026-02")
    assert settled == api == preview == EXPECTED
    assert settled.key == "2026-02"
    engine.dispose()
