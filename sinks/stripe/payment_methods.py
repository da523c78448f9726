"""An account's payment methods in Stripe: the SetupIntent the browser confirms with Stripe Elements (card data
goes from the browser to Stripe, never through Meterline), the methods attached to the account's Customer, the
default one (``invoice_settings.default_payment_method``, which Stripe uses for the subscription's and the
invoices' charges) and detaching one. A method is only ever touched after it was found among the Customer's own,
so an id of another customer's method does nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import stripe

from sinks.stripe.subscriptions import ACCOUNT_METADATA


@dataclass(frozen=True, slots=True)
class Method:
    id: str
    type: str
    brand: str | None
    last4: str | None
    exp_month: int | None
    exp_year: int | None


class PaymentMethods:
    def __init__(self, client: stripe.StripeClient) -> None:
        self._client = client

    def create_customer(self, account_id: str, account_kind: str) -> str:
        params: dict[str, Any] = {
            "description": f"Meterline {account_kind} account {account_id}",
            "metadata": {ACCOUNT_METADATA: account_id, "account_kind": account_kind},
        }
        key = f"meterline-customer-{account_id}"  # one Customer per account, even when two requests race
        customer = self._client.v1.customers.create(params=params, options={"idempotency_key": key})  # type: ignore[arg-type]
        return str(customer.id)

    def setup_intent(self, customer: str) -> tuple[str, str]:
        """(id, client_secret) of a SetupIntent saving a method for later charges of ``customer``."""
        params: dict[str, Any] = {
            "customer": customer,
            "usage": "off_session",
            "automatic_payment_methods": {"enabled": True},
        }
        intent = self._client.v1.setup_intents.create(params=params)  # type: ignore[arg-type]
        return str(intent.id), str(intent.client_secret)

    def methods(self, customer: str) -> tuple[list[Method], str | None]:
        """The Customer's payment methods and the id of its default one."""
        page = self._client.v1.customers.payment_methods.list(customer, params={"limit": 100})
        out = []
        for pm in page.data:
            card = getattr(pm, "card", None)
            out.append(
                Method(
                    id=str(pm.id),
                    type=str(pm.type),
                    brand=str(card.brand) if card is not None else None,
                    last4=str(card.last4) if card is not None else None,
                    exp_month=int(card.exp_month) if card is not None else None,
                    exp_year=int(card.exp_year) if card is not None else None,
                )
            )
        cust = self._client.v1.customers.retrieve(customer)
        settings = getattr(cust, "invoice_settings", None)
        default = getattr(settings, "default_payment_method", None) if settings is not None else None
        return out, str(default) if default else None

    def set_default(self, customer: str, method: str) -> str | None:
        """Make ``method`` the default; returns the default as Stripe's answer has it."""
        params: dict[str, Any] = {"invoice_settings": {"default_payment_method": method}}
        cust = self._client.v1.customers.update(customer, params=params)  # type: ignore[arg-type]
        settings = getattr(cust, "invoice_settings", None)
        default = getattr(settings, "default_payment_method", None) if settings is not None else None
        return str(default) if default else None

    def detach(self, method: str) -> None:
        self._client.v1.payment_methods.detach(method)
