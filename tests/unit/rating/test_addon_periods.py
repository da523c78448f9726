"""What a usage period bills of each add-on kind (rating/addons.py), worked by hand from the rule:
one-time in the period of its date, recurring by the exact share of the period it covers, hours by date."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from rating.addons import AddonUse, period_quantities, period_quantity
from rating.catalog.loader import load_catalog
from rating.catalog.model import ContractOverrides
from rating.invoice import preview_invoice
from rating.periods import period_containing
from rating.subscriptions import SubscriptionHistory, SubscriptionVersion
from rating.usage import PeriodUsage

JUNE = period_containing(date(2026, 6, 1), datetime(2026, 6, 15, tzinfo=UTC))  # 30 days


def at(day: int, month: int = 6, hour: int = 0) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def test_one_time_in_the_period_of_its_date_only() -> None:
    setup = AddonUse("white_label_setup", "one_time", at(30, hour=23), quantity=Decimal(1))
    assert period_quantity(setup, JUNE) == 1
    assert period_quantity(AddonUse("white_label_setup", "one_time", at(1, 7)), JUNE) == 0
    assert period_quantity(AddonUse("custom_ai_training", "one_time", at(1), quantity=Decimal(3)), JUNE) == 3


def test_recurring_prorated_on_start_and_end() -> None:
    # Started June 16 00:00: 15 of 30 days.
    assert period_quantity(AddonUse("advanced_analytics", "recurring", at(16)), JUNE) == Decimal("0.5")
    # Started in May, still active: the whole period.
    assert period_quantity(AddonUse("advanced_analytics", "recurring", at(3, 5)), JUNE) == 1
    # June 4 12:00 to June 7 00:00: 2.5 of 30 days.
    use = AddonUse("advanced_analytics", "recurring", at(4, hour=12), end=at(7))
    assert period_quantity(use, JUNE) == Decimal("2.5") / 30
    # Ended before the period, or starting after it: nothing.
    assert period_quantity(AddonUse("advanced_analytics", "recurring", at(1, 5), end=at(1)), JUNE) == 0
    assert period_quantity(AddonUse("advanced_analytics", "recurring", at(1, 7)), JUNE) == 0


def test_hours_by_the_day_worked() -> None:
    dev = AddonUse(
        "custom_development",
        "hourly",
        at(1),
        hours=((at(1), Decimal("2.5")), (at(30), Decimal(4)), (at(1, 7), Decimal(8)), (at(31, 5), Decimal(1))),
    )
    assert period_quantities([dev], JUNE) == {"custom_development": Decimal("6.5")}


def test_invoice_lines_at_the_contracts_price_else_the_catalogs() -> None:
    """Advanced analytics from June 16 at a contracted $1,500/month: 0.5 x 1500 = $750.00; 6.5 hours at the
    catalog's $150 = $975.00; a white-label setup at the catalog's $15,000."""
    catalog = load_catalog().at(JUNE.start)

    version = SubscriptionVersion(
        account_id="org_1",
        account_kind="org",
        tier="enterprise",
        anchor=date(2026, 6, 1),
        effective_from=at(1, 1),
        version=1,
        contract=ContractOverrides(addons={"advanced_analytics": Decimal(1500)}),
    )
    uses = [
        AddonUse("advanced_analytics", "recurring", at(16)),
        AddonUse("custom_development", "hourly", at(1), hours=((at(2), Decimal("6.5")),)),
        AddonUse("white_label_setup", "one_time", at(20)),
    ]
    usage = PeriodUsage(addons=period_quantities(uses, JUNE))
    invoice = preview_invoice(SubscriptionHistory("org_1", [version]), [usage], JUNE, catalog)
    lines = {ln.code: ln.amount for ln in invoice.lines if ln.code.startswith("addon:")}
    assert lines == {
        "addon:advanced_analytics": Decimal("750.00"),
        "addon:custom_development": Decimal("975.00"),
        "addon:white_label_setup": Decimal("15000.00"),
    }
