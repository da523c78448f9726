"""``/api/billing/payment-methods``: an account's payment methods in Stripe (sinks/stripe/payment_methods.py) —
a SetupIntent for Stripe Elements, the list with the default marked, set the default, remove one. Reading needs
what reading the account's invoices needs (auth.account_access: owners, admins, viewers, the person themself);
changing needs managing it. A method id not among the account's own Customer's answers 404, whoever holds it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import stripe

from sinks.stripe.payment_methods import PaymentMethods
from streams.api.auth import account_access
from streams.api.common import caller
from streams.api.errors import ApiError
from streams.api.limits import stripe_limit
from streams.api.models import (
    PAYMENT_METHOD_ID_PATTERN,
    AccountRef,
    PaymentMethodList,
    PaymentMethodOut,
    SetupIntentOut,
)
from streams.api.routing import Call, Endpoint
from streams.store import subscription_store as store
from streams.store.models import Organization

PREFIX = "/api/billing/payment-methods"
_TAG = "payment methods"
T = TypeVar("T")


def _stripe(what: str, fn: Callable[[], T]) -> T:
    try:
        return fn()
    except stripe.StripeError as exc:
        raise ApiError(503, "stripe_unavailable", f"Stripe did not {what}: {exc.user_message or exc}") from exc


def _customer(call: Call, account: str, *, manage: bool, create: bool = False) -> str | None:
    """The account's Stripe Customer after the caller's access is checked (None: it has none yet)."""
    now = call.ctx.clock()
    with call.ctx.sessions.begin() as s:
        access = account_access(s, caller(call, s), account)
        if not (access.manages if manage else access.reads_all):
            raise ApiError(403, "forbidden", f"the role {access.role} may not do this")
        stripe_limit(call.ctx.limits, account, now.timestamp())
        customer = store.account_stripe_customer(s, account)
        if customer is not None or not create:
            return customer
        kind = "org" if s.get(Organization, account) is not None else "user"
    methods = PaymentMethods(call.ctx.stripe)
    made = _stripe("create the customer", lambda: methods.create_customer(account, kind))
    with call.ctx.sessions.begin() as s:
        store.claim_customer(s, made, account, now)
        return store.account_stripe_customer(s, account)


def create_setup_intent(call: Call) -> SetupIntentOut:
    body: AccountRef = call.body
    customer = _customer(call, body.account, manage=True, create=True)
    assert customer is not None
    intent_id, secret = _stripe(
        "create the SetupIntent", lambda: PaymentMethods(call.ctx.stripe).setup_intent(customer)
    )
    return SetupIntentOut(setup_intent_id=intent_id, client_secret=secret)


def _listed(call: Call, account: str, customer: str | None, default: str | None = None) -> PaymentMethodList:
    """The Customer's methods; ``default``: the default Stripe just answered (else the Customer's)."""
    if customer is None:
        return PaymentMethodList(account_id=account, payment_methods=[])
    found, current = _stripe("list the payment methods", lambda: PaymentMethods(call.ctx.stripe).methods(customer))
    default = default or current
    return PaymentMethodList(
        account_id=account,
        payment_methods=[
            PaymentMethodOut(
                id=m.id,
                type=m.type,
                brand=m.brand,
                last4=m.last4,
                exp_month=m.exp_month,
                exp_year=m.exp_year,
                is_default=m.id == default,
            )
            for m in found
        ],
    )


def list_payment_methods(call: Call) -> PaymentMethodList:
    q: AccountRef = call.query
    return _listed(call, q.account, _customer(call, q.account, manage=False))


def _owned(call: Call, account: str) -> str:
    """The account's Customer, once the path's method is found among its own (404 otherwise)."""
    customer = _customer(call, account, manage=True)
    method = call.path["method_id"]
    if customer is None or method not in {m.id for m in _listed(call, account, customer).payment_methods}:
        raise ApiError(404, "not_found", f"no payment method {method}")
    return customer


def set_default_payment_method(call: Call) -> PaymentMethodList:
    body: AccountRef = call.body
    customer = _owned(call, body.account)
    methods = PaymentMethods(call.ctx.stripe)
    default = _stripe("set the default", lambda: methods.set_default(customer, call.path["method_id"]))
    return _listed(call, body.account, customer, default)


def remove_payment_method(call: Call) -> None:
    q: AccountRef = call.query
    _owned(call, q.account)
    _stripe("detach the method", lambda: PaymentMethods(call.ctx.stripe).detach(call.path["method_id"]))


_PM = {"method_id": PAYMENT_METHOD_ID_PATTERN}
ENDPOINTS = [
    Endpoint(
        "POST",
        f"{PREFIX}/setup-intent",
        create_setup_intent,
        "A Stripe SetupIntent to add a payment method with Stripe Elements (makes the account's Customer if needed)",
        _TAG,
        SetupIntentOut,
        status=201,
        body=AccountRef,
        errors=(401, 403, 404, 503),
    ),
    Endpoint(
        "GET",
        PREFIX,
        list_payment_methods,
        "The account's payment methods, the default marked",
        _TAG,
        PaymentMethodList,
        query=AccountRef,
        errors=(401, 403, 404, 503),
    ),
    Endpoint(
        "POST",
        f"{PREFIX}/{{method_id}}/default",
        set_default_payment_method,
        "Make a payment method the default for the subscription's and the invoices' charges",
        _TAG,
        PaymentMethodList,
        body=AccountRef,
        path_params=_PM,
        errors=(401, 403, 404, 503),
    ),
    Endpoint(
        "DELETE",
        f"{PREFIX}/{{method_id}}",
        remove_payment_method,
        "Remove (detach) a payment method of the account",
        _TAG,
        None,
        status=204,
        query=AccountRef,
        path_params=_PM,
        errors=(401, 403, 404, 503),
    ),
]
