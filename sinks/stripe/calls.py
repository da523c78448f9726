"""Calling Stripe with our own retries (a ``StripeClient`` retries nothing unless told, and the
library does not retry a plain 429): 429, 5xx and connection errors back off with jitter; any other
4xx is final and raised with Stripe's message."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import TypeVar

import stripe

from sinks.clickhouse.row_sink import RetryPolicy
from sinks.errors import SinkRejected, SinkUnavailable

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
    attempt = 0
    while True:
        attempt += 1
        try:
            return fn()
        except stripe.StripeError as exc:
            message = str(exc.user_message or exc)
            if not retriable(exc):
                raise refused(f"Stripe refused to {what}: {message}") from exc
            limit = policy.max_attempts
            if limit is not None and attempt >= limit:
                raise unavailable(f"cannot {what} after {attempt} attempts: {message}") from exc
            log.info("retrying to %s (attempt %d): %s", what, attempt, message)
            sleep(policy.delay(attempt, rng))
