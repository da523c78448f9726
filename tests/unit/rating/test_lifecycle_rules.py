"""The lifecycle rules as pure decisions: transitions, and the versions that make the history agree."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from rating import lifecycle as lc
from rating.catalog.loader import load_catalog
from rating.subscriptions import SubscriptionHistory

CAT = load_catalog().at(datetime(2026, 6, 1, tzinfo=UTC))
ANCHOR = date(2026, 6, 1)
NOW = datetime(2026, 6, 10, 12, tzinfo=UTC)
END = datetime(2026, 7, 1, tzinfo=UTC)
IDENT = lc.Identity("acct-1", "org", ANCHOR)


def apply(history: SubscriptionHistory, plan: lc.Plan, now: datetime) -> SubscriptionHistory:
    written = lc.versions_to_write(history, IDENT, plan, now)
    return SubscriptionHistory("acct-1", [*history.versions, *written])


def test_upgrade_is_immediate_and_downgrade_waits_for_the_period_end() -> None:
    plan = lc.create(CAT, "standard", "month", NOW)
    h = apply(SubscriptionHistory("acct-1"), plan, NOW)
    up, kind = lc.change(plan, CAT, "acct-1", ANCHOR, NOW, "enterprise", None)
    assert kind == "upgrade" and up.tier == "enterprise" and up.pending_at is None
    h2 = apply(h, up, NOW + timedelta(hours=1))
    assert h2.at(NOW + timedelta(hours=2)).tier == "enterprise"  # type: ignore[union-attr]

    down, kind = lc.change(plan, CAT, "acct-1", ANCHOR, NOW, "free", None)
    assert kind == "downgrade" and down.tier == "standard" and down.pending_at == END
    h3 = apply(h, down, NOW)
    assert h3.at(END - timedelta(seconds=1)).tier == "standard"  # type: ignore[union-attr]
    assert h3.at(END).tier == "free"  # type: ignore[union-attr]


def test_monthly_to_annual_is_an_upgrade_and_annual_to_monthly_a_downgrade() -> None:
    monthly = lc.create(CAT, "standard", "month", NOW)
    assert lc.change(monthly, CAT, "a", ANCHOR, NOW, None, "year")[1] == "upgrade"
    annual = lc.create(CAT, "standard", "year", NOW)
    assert lc.change(annual, CAT, "a", ANCHOR, NOW, None, "month")[1] == "downgrade"


@pytest.mark.parametrize(
    ("plan", "tier", "code"),
    [
        (lc.Plan("standard", "month", "active"), "standard", "no_change"),
        (lc.Plan("standard", "month", "canceled"), "enterprise", "subscription_canceled"),
        (lc.Plan("standard", "month", "active", cancel_at=END), "enterprise", "cancel_pending"),
        (lc.Plan("standard", "month", "past_due", grace_until=END), "enterprise", "payment_past_due"),
        (lc.Plan("standard", "month", "active"), "platinum", "unknown_tier"),
        (
            lc.Plan("standard", "month", "active", pending_tier="free", pending_interval="month", pending_at=END),
            "free",
            "no_change",
        ),
    ],
)
def test_invalid_changes_say_why(plan: lc.Plan, tier: str, code: str) -> None:
    with pytest.raises(lc.TransitionError) as err:
        lc.change(plan, CAT, "a", ANCHOR, NOW, tier, None)
    assert err.value.code == code


def test_cancel_then_reactivate_overrides_the_scheduled_cancellation() -> None:
    plan = lc.create(CAT, "standard", "month", NOW)
    h = apply(SubscriptionHistory("acct-1"), plan, NOW)
    canceling = lc.cancel(plan, ANCHOR, NOW, immediately=False)
    assert canceling.cancel_at == END
    h = apply(h, canceling, NOW + timedelta(minutes=1))
    assert h.at(END).status == "canceled"  # type: ignore[union-attr]
    back = lc.reactivate(canceling, NOW + timedelta(minutes=2))
    h = apply(h, back, NOW + timedelta(minutes=2))
    # Same effective_from, higher version: the override wins; the tier never stopped.
    assert h.at(END).status == "active" and h.at(END).tier == "standard"  # type: ignore[union-attr]
    with pytest.raises(lc.TransitionError) as err:
        lc.reactivate(back, NOW)
    assert err.value.code == "not_canceling"
    # After the end, the canceled subscription cannot be reactivated.
    with pytest.raises(lc.TransitionError) as err:
        lc.reactivate(canceling, END + timedelta(seconds=1))
    assert err.value.code == "subscription_canceled"


def test_immediate_cancel_and_nothing_to_write_twice() -> None:
    plan = lc.create(CAT, "standard", "month", NOW)
    h = apply(SubscriptionHistory("acct-1"), plan, NOW)
    assert lc.versions_to_write(h, IDENT, plan, NOW + timedelta(minutes=1)) == []  # already agrees
    gone = lc.cancel(plan, ANCHOR, NOW, immediately=True)
    h = apply(h, gone, NOW + timedelta(minutes=1))
    assert h.at(NOW + timedelta(minutes=1)).status == "canceled"  # type: ignore[union-attr]
    with pytest.raises(lc.TransitionError):
        lc.cancel(gone, ANCHOR, NOW + timedelta(minutes=2), immediately=True)


def test_trial_becomes_active_and_dunning_becomes_unpaid_after_the_grace_period() -> None:
    trial = lc.create(CAT, "standard", "month", NOW, trial_days=14)
    h = apply(SubscriptionHistory("acct-1"), trial, NOW)
    assert [v.status for v in h.versions] == ["trialing", "active"]
    assert h.versions[1].effective_from == NOW + timedelta(days=14)

    active = lc.Plan("standard", "month", "active")
    failed = lc.payment_failed(active, NOW, timedelta(days=7))
    assert failed is not None and failed.terms_at(NOW).status == "past_due"
    assert failed.terms_at(NOW + timedelta(days=7)).status == "unpaid"
    assert lc.payment_failed(failed, NOW + timedelta(days=1), timedelta(days=7)) is None  # already past_due
    paid = lc.payment_recovered(failed, NOW + timedelta(days=8))
    assert paid is not None and paid.status == "active" and paid.grace_until is None
    assert lc.payment_recovered(paid, NOW + timedelta(days=9)) is None


def test_version_numbers_continue_above_every_known_one() -> None:
    plan = lc.create(CAT, "free", "month", NOW)
    first = lc.versions_to_write(SubscriptionHistory("acct-1"), IDENT, plan, NOW)
    h = SubscriptionHistory("acct-1", first)
    up, _ = lc.change(plan, CAT, "acct-1", ANCHOR, NOW, "standard", None)
    second = lc.versions_to_write(h, IDENT, up, NOW)  # the same instant: must still win
    assert second[0].version > first[0].version
    assert SubscriptionHistory("acct-1", [*first, *second]).at(NOW).tier == "standard"  # type: ignore[union-attr]
