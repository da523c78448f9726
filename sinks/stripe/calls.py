"""Calling Stripe with our own retries (a ``StripeClient`` retries nothing unless told, and the
library does not retry a plain 429): 429, 5xx and connection errors back off with jitter; any other
4xx is final and raised with Stripe's message."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import TypeVar

import stripe

from sinks.errors import SinkRejected, SinkUnavailable
from sinks.retry import Retry, RetryPolicy, call_with_retries

log = logging.getLogger(__name__)
T = TypeVar("T")


def retriable(exc: stripe.StripeError) -> bool:
    if isinstance(exc, stripe.RateLimitError | stripe.APIConnectionError):
        return True
    status = getattr(exc, "http_status", None)
    return status is None or status >= 500 or status == 429


def with_retries(
    what: str,
    fn: Callable[[], T],
    policy: RetryPolicy,
    sleep: Callable[[float], None],
    rng: random.Random,
    *,
    refused: type[SinkRejected] = SinkRejected,
    unavailable: type[SinkUnavailable] = SinkUnavailable,
) -> T:
    def on_retry(exc: stripe.StripeError, attempt: int, wait: float) -> None:
        log.info("retrying to %s (attempt %d): %s", what, attempt, _message(exc))

    try:
        return call_with_retries(fn, Retry(stripe.StripeError, retriable, policy, rng, on_retry), sleep)
    except stripe.StripeError as exc:
        if not retriable(exc):
            raise refused(f"Stripe refused to {what}: {_message(exc)}") from exc
        raise unavailable(f"cannot {what} after {policy.max_attempts} attempts: {_message(exc)}") from exc


def _message(exc: stripe.StripeError) -> str:
    return str(exc.user_message or exc)
