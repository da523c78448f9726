"""Finalized invoices of invoiced tiers (enterprise: ``send_invoice``, net 30/60) pushed to Stripe as an
invoice with one invoice item per line (issue #5, "Stripe sink"); the Stripe writes, each keyed for
idempotency, are ``sinks/stripe/invoices.py``. The lasting guard is ``stripe_reports``: an invoice
recorded there as acknowledged is never pushed again.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import stripe

from rating.catalog.loader import Catalog
from rating.money import minor_units
from rating.settle import HistoryLookup, version_for
from rating.subscriptions import rated_tier
from sinks.clickhouse.settlement import SettlementStore
from sinks.clickhouse.stripe_ledger import ClickHouseReportLedger
from sinks.errors import SinkError
from sinks.retry import RetryPolicy
from sinks.stripe.invoices import StripeInvoices
from sinks.stripe.meter import Attempt

log = logging.getLogger(__name__)
INVOICE_METER = "invoice"  # stripe_reports.meter of invoice pushes
LOOKBACK = timedelta(days=120)
DEFAULT_POLICY = RetryPolicy(initial=0.2, maximum=5.0, max_attempts=6)


def invoice_identifier(invoice_id: str) -> str:
    return "mtl_inv_" + hashlib.sha256(invoice_id.encode()).hexdigest()[:40]


class InvoicePusher:
    def __init__(
        self,
        client: stripe.StripeClient,
        store: SettlementStore,
        ledger: ClickHouseReportLedger,
        catalog: Catalog,
        histories: HistoryLookup,
        *,
        policy: RetryPolicy = DEFAULT_POLICY,
        sleep: Callable[[float], None] = time.sleep,
        automatic_tax: bool = False,
    ) -> None:
        self._invoices = StripeInvoices(client, policy, sleep, automatic_tax=automatic_tax)
        self._store, self._ledger = store, ledger
        self._catalog, self._histories = catalog, histories

    def push_due(self, now: datetime) -> Counter[str]:
        """Push every finalized invoice of an invoiced tier not yet acknowledged; returns outcomes."""
        self._ledger.load(now - LOOKBACK)
        outcomes: Counter[str] = Counter()
        for doc in self._store.final_invoices(now - LOOKBACK):
            end = datetime.fromisoformat(doc["period_end"]).astimezone(UTC)
            version = version_for(doc["account_id"], "user", self._histories, end - timedelta(microseconds=1))
            tier = rated_tier(version, self._catalog.at(end))
            terms = tier.payment_terms  # the contract's terms when it overrides them
            if terms.collection != "send_invoice" or not version.stripe_customer_id:
                continue
            if self._ledger.acknowledged(invoice_identifier(doc["invoice_id"])):
                continue
            outcomes[self.push(doc, version.stripe_customer_id, terms.days_until_due or 30, now)] += 1
        return outcomes

    def push(self, doc: dict[str, Any], customer: str, days_until_due: int, now: datetime) -> str:
        inv_id = doc["invoice_id"]
        ident = invoice_identifier(inv_id)
        try:
            stripe_id = self._invoices.send(doc, customer, days_until_due, ident)
        except SinkError as exc:
            outcome = "retrying" if exc.retriable else "failed"
            self._record(ident, doc, outcome, None, str(exc), now)
            log.error("cannot push invoice %s to Stripe: %s", inv_id, exc)
            return outcome
        self._record(ident, doc, "acknowledged", 200, stripe_id, now)
        return "acknowledged"

    def _record(
        self, ident: str, doc: dict[str, Any], outcome: Any, status: int | None, msg: str, now: datetime
    ) -> None:
        start = datetime.fromisoformat(doc["period_start"]).astimezone(UTC)
        total = minor_units(Decimal(doc["total"]))
        self._ledger.record(
            Attempt(ident, doc["account_id"], INVOICE_METER, start, total, 1, outcome, status, msg[:500], now)
        )
