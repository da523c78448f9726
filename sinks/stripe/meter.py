"""Reporting settled usage to Stripe Billing Meters, so that a retry or a replay never bills twice.

Each report carries a deterministic ``identifier`` (account, meter, settled window), Stripe's own
dedupe key for about 24 hours; a ledger of acknowledged reports (``stripe_reports``) is the lasting
guard: an acknowledged report is never sent again. 429, 5xx and connection errors are retried with
jittered exponential backoff (a ``StripeClient`` retries nothing unless told, and not a plain 429);
other 4xx are final, recorded with Stripe's message, and wait for a fix. Calls are rate limited on
the client side. Every attempt and its outcome goes to the ledger.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol

import stripe

from sinks.retry import Retry, RetryPolicy, call_with_retries
from sinks.stripe.calls import retriable

Outcome = Literal["acknowledged", "retrying", "failed", "skipped"]
DEFAULT_POLICY = RetryPolicy(initial=0.2, maximum=5.0, max_attempts=8)


@dataclass(frozen=True, slots=True)
class MeterReport:
    account_id: str
    customer_id: str  # Stripe customer
    meter: str  # the meter's event_name
    window_start: datetime  # settled window [start, end), aware UTC
    window_end: datetime
    value: int  # whole units (meters take integers: choose units so they are)
    # 0: the window's first report; n: the n-th later addition (late usage of a reported window)
    revision: int = 0

    @property
    def identifier(self) -> str:
        return report_identifier(self.account_id, self.meter, self.window_start, self.revision)


def report_identifier(account_id: str, meter: str, window_start: datetime, revision: int = 0) -> str:
    """Deterministic and at most 100 characters, whatever the lengths of the ids."""
    if window_start.tzinfo is None:
        raise ValueError("window_start must be aware UTC")
    key = f"{account_id}|{meter}|{window_start.astimezone(UTC).isoformat()}"
    if revision:
        key += f"|r{revision}"
    return "mtl_" + hashlib.sha256(key.encode()).hexdigest()[:48]


@dataclass(frozen=True, slots=True)
class Attempt:
    identifier: str
    account_id: str
    meter: str
    window_start: datetime
    value: int
    attempt: int
    outcome: Outcome
    http_status: int | None
    message: str
    at: datetime


class ReportLedger(Protocol):
    """What was reported and what Stripe answered (ClickHouse ``stripe_reports`` in production)."""

    def acknowledged(self, identifier: str) -> bool: ...

    def record(self, attempt: Attempt) -> None: ...


class MemoryLedger:
    def __init__(self) -> None:
        self.attempts: list[Attempt] = []
        self._acked: set[str] = set()
        self._lock = threading.Lock()

    def acknowledged(self, identifier: str) -> bool:
        return identifier in self._acked

    def record(self, attempt: Attempt) -> None:
        with self._lock:
            self.attempts.append(attempt)
            if attempt.outcome == "acknowledged":
                self._acked.add(attempt.identifier)


class TokenBucket:
    """At most ``rate`` calls a second (bursts up to ``rate``); blocking, shared by the reporter's threads."""

    def __init__(
        self, rate: float, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._rate, self._clock, self._sleep = rate, clock, sleep
        self._tokens, self._at = rate, clock()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = self._clock()
                self._tokens = min(self._rate, self._tokens + (now - self._at) * self._rate)
                self._at = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                wait = (1 - self._tokens) / self._rate
            self._sleep(wait)


class StripeMeterReporter:
    def __init__(
        self,
        client: stripe.StripeClient,
        ledger: ReportLedger,
        *,
        rate_per_second: float = 20.0,
        policy: RetryPolicy = DEFAULT_POLICY,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._client, self._ledger, self._policy = client, ledger, policy
        self._bucket = TokenBucket(rate_per_second, sleep=sleep)
        self._clock, self._sleep = clock, sleep
        self._rng = rng or random.Random()

    def report(self, r: MeterReport) -> Outcome:
        """Send one report until acknowledged, finally refused, or out of attempts (then 'retrying':
        the caller tries again later; the identifier keeps it from being counted twice)."""
        ident = r.identifier
        if self._ledger.acknowledged(ident):
            return "skipped"
        attempt = 0

        def send() -> None:
            nonlocal attempt
            attempt += 1
            self._bucket.acquire()
            try:
                self._client.v1.billing.meter_events.create(
                    params={
                        "event_name": r.meter,
                        "identifier": ident,
                        "timestamp": int(r.window_start.timestamp()),
                        "payload": {"stripe_customer_id": r.customer_id, "value": str(r.value)},
                    }
                )
            except stripe.StripeError as exc:
                outcome: Outcome = "retrying" if retriable(exc) else "failed"
                status = getattr(exc, "http_status", None)
                self._ledger.record(self._attempt(r, attempt, outcome, status, str(exc.user_message or exc)))
                raise

        try:
            call_with_retries(send, Retry(stripe.StripeError, retriable, self._policy, self._rng), self._sleep)
        except stripe.StripeError as exc:
            return "retrying" if retriable(exc) else "failed"
        self._ledger.record(self._attempt(r, attempt, "acknowledged", 200, "ok"))
        return "acknowledged"

    def _attempt(self, r: MeterReport, n: int, outcome: Outcome, status: int | None, message: str) -> Attempt:
        return Attempt(
            r.identifier,
            r.account_id,
            r.meter,
            r.window_start,
            r.value,
            n,
            outcome,
            status,
            message[:500],
            self._clock(),
        )
