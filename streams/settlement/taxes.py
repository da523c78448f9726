"""The tax rates of an account's invoice (docs/invoices.md): the configured table's rates for the buyer's
billing address, read from the billing store, for invoices Meterline issues itself (an account with a Stripe
customer is collected by Stripe, which taxes it with Stripe Tax when enabled)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from rating.periods import Period
from rating.subscriptions import SubscriptionHistory
from rating.tax import TaxRate, TaxTable
from streams.store.models import Organization


def store_taxes(
    table: TaxTable, make_session: sessionmaker[Session], histories: Callable[[str], SubscriptionHistory | None]
) -> Callable[[str, Period], Sequence[TaxRate]]:
    def taxes(account: str, period: Period) -> Sequence[TaxRate]:
        history = histories(account)
        if not table.rates or (history is not None and any(v.stripe_customer_id for v in history.versions)):
            return ()
        with make_session() as s:
            org = s.get(Organization, account)
            address = dict(org.billing_address or {}) if org is not None else {}
        # the rate in effect on the period's last day
        return table.in_effect(address.get("country"), address.get("region"), (period.end - timedelta(days=1)).date())

    return taxes
