"""The one retry policy and loop of the sinks (ClickHouse inserts, Stripe calls): jittered exponential
backoff, a retriable error retried until the attempts run out, any other error raised at once.

The loop comes in a blocking form (Stripe calls run in threads or jobs that may block) and an
asyncio form (the ClickHouse row sink must not block the worker's event loop); both share the
decision of whether and how long to wait, so they cannot disagree.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
E = TypeVar("E", bound=BaseException)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Jittered exponential backoff; ``max_attempts=None`` retries until told to stop."""

    initial: float = 0.2
    maximum: float = 10.0
    max_attempts: int | None = None

    def delay(self, attempt: int, rng: random.Random) -> float:
        base: float = min(self.maximum, self.initial * (2 ** min(attempt, 16)))
        return base * (0.5 + rng.random() / 2)

    def exhausted(self, attempt: int) -> bool:
        """True once ``attempt`` (counted from 1) was the last one allowed."""
        return self.max_attempts is not None and attempt >= self.max_attempts


@dataclass(frozen=True, slots=True)
class Retry(Generic[E]):
    """What one loop retries: errors of type ``catch`` for which ``retriable`` says yes; ``on_retry``
    hears each (error, attempt, wait) before the wait, e.g. to log it."""

    catch: type[E]
    retriable: Callable[[E], bool]
    policy: RetryPolicy
    rng: random.Random
    on_retry: Callable[[E, int, float], None] | None = None

    def wait_after(self, exc: E, attempt: int) -> float | None:
        """Seconds to wait before the next attempt, or None to give up (the caller re-raises)."""
        if not self.retriable(exc) or self.policy.exhausted(attempt):
            return None
        wait = self.policy.delay(attempt, self.rng)
        if self.on_retry:
            self.on_retry(exc, attempt, wait)
        return wait


def call_with_retries(fn: Callable[[], T], retry: Retry[E], sleep: Callable[[float], None]) -> T:
    """``fn()`` until it returns, or re-raise its last error once ``retry`` gives up."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return fn()
        except retry.catch as exc:
            wait = retry.wait_after(exc, attempt)
            if wait is None:
                raise
        sleep(wait)


async def call_with_retries_async(
    fn: Callable[[], Awaitable[T]],
    retry: Retry[E],
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """``await fn()`` until it returns, or re-raise its last error once ``retry`` gives up."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return await fn()
        except retry.catch as exc:
            wait = retry.wait_after(exc, attempt)
            if wait is None:
                raise
        await sleep(wait)
