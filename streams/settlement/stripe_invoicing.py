"""Finalized invoices of invoiced tiers (enterprise: ``send_invoice``, net 30/60) pushed to Stripe as an
invoice with one invoice item per line (issue #5, "Stripe sink").

Every write carries an idempotency key derived from the invoice and line, so a retry or a crash
half-way re-sends the same writes and Stripe answers them once (Stripe keeps keys about 24 h). The
lasting guard is ``stripe_reports``: an invoice recorded there as acknowledged is never pushed again.
"""

from __future__ import annotations

import hashlib
import logging
import random
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
from sinks.clickhouse.settlement_store import SettlementStore
from sinks.clickhouse.stripe_ledger import ClickHouseReportLedger
from sinks.errors import SinkError
from sinks.retry import RetryPolicy
from sinks.stripe.calls import with_retries
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
    ) -> None:
        self._client, self._store, self._ledger = client, store, ledger
        self._catalog, self._histories = catalog, histories
        self._policy, self._sleep, self._rng = policy, sleep, random.Random()

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

        def call(what: str, fn: Callable[[], Any]) -> Any:
            return with_retries(what, fn, self._policy, self._sleep, self._rng)

        try:
            invoice = call(
                f"create the invoice {inv_id}",
                lambda: self._client.v1.invoices.create(
                    params={
                        "customer": customer,
                        "collection_method": "send_invoice",
                        "days_until_due": days_until_due,
                        "auto_advance": False,
                        "currency": doc["currency"],
                        "pending_invoice_items_behavior": "exclude",
                        "description": f"Usage period {doc['period_start'][:10]} to {doc['period_end'][:10]}",
                        "metadata": {"meterline_invoice_id": inv_id},
                    },
                    options={"idempotency_key": f"{ident}-create"},
                ),
            )
            for n, line in enumerate(doc["lines"]):
                if minor_units(Decimal(line["amount"])) != 0:
                    call(f"add line {n} to {inv_id}", self._item(customer, invoice.id, doc, ident, n, line))
            call(
                f"finalize {inv_id}",
                lambda: self._client.v1.invoices.finalize_invoice(
                    invoice.id, options={"idempotency_key": f"{ident}-finalize"}
                ),
            )
        except SinkError as exc:
            outcome = "retrying" if exc.retriable else "failed"
            self._record(ident, doc, outcome, None, str(exc), now)
            log.error("cannot push invoice %s to Stripe: %s", inv_id, exc)
            return outcome
        self._record(ident, doc, "acknowledged", 200, invoice.id, now)
        return "acknowledged"

    def _item(
        self, customer: str, invoice: str, doc: dict[str, Any], ident: str, n: int, line: dict[str, str]
    ) -> Callable[[], Any]:
        def create() -> Any:
            return self._client.v1.invoice_items.create(
                params={
                    "customer": customer,
                    "invoice": invoice,
                    "amount": minor_units(Decimal(line["amount"])),
                    "currency": doc["currency"],
                    "description": line["description"],
                    "metadata": {"meterline_invoice_id": doc["invoice_id"], "code": line["code"], "line": str(n)},
                },
                options={"idempotency_key": f"{ident}-line-{n}"},
            )

        return create

    def _record(
        self, ident: str, doc: dict[str, Any], outcome: Any, status: int | None, msg: str, now: datetime
    ) -> None:
        start = datetime.fromisoformat(doc["period_start"]).astimezone(UTC)
        total = minor_units(Decimal(doc["total"]))
        self._ledger.record(
            Attempt(ident, doc["account_id"], INVOICE_METER, start, total, 1, outcome, status, msg[:500], now)
        )
