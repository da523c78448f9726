"""Writing one finalized invoice to Stripe: the invoice, one invoice item per non-zero line, the
finalization (``send_invoice``: Stripe emails it; nothing is charged automatically).

Every write carries an idempotency key derived from ``ident`` (and the line), so a retry or a crash
half-way re-sends the same writes and Stripe answers them once (Stripe keeps keys about 24 h).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import stripe

from rating.money import minor_units
from sinks.retry import RetryPolicy
from sinks.stripe.calls import with_retries


class StripeInvoices:
    def __init__(
        self,
        client: stripe.StripeClient,
        policy: RetryPolicy,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        *,
        automatic_tax: bool = False,
    ) -> None:
        """``automatic_tax``: Stripe Tax computes the tax of each invoice (docs/invoices.md)."""
        self._automatic_tax = automatic_tax
        self._client, self._policy, self._sleep = client, policy, sleep
        self._rng = rng or random.Random()

    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        return with_retries(what, fn, self._policy, self._sleep, self._rng)

    def send(self, doc: dict[str, Any], customer: str, days_until_due: int, ident: str) -> str:
        """Create, fill and finalize the Stripe invoice of ``doc``; returns its Stripe id. Raises a
        ``SinkError`` (retriable or not) when Stripe refuses or stays unavailable."""
        inv_id = doc["invoice_id"]
        invoice = self._call(
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
                    **({"automatic_tax": {"enabled": True}} if self._automatic_tax else {}),
                },
                options={"idempotency_key": f"{ident}-create"},
            ),
        )
        for n, line in enumerate(doc["lines"]):
            if minor_units(Decimal(line["amount"])) != 0:
                self._call(f"add line {n} to {inv_id}", self._item(customer, invoice.id, doc, ident, n, line))
        self._call(
            f"finalize {inv_id}",
            lambda: self._client.v1.invoices.finalize_invoice(
                invoice.id, options={"idempotency_key": f"{ident}-finalize"}
            ),
        )
        return str(invoice.id)

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
