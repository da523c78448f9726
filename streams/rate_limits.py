"""Token buckets for request limits: per credential's account, per ingest key, per failing client address.

A bucket holds up to ``per_minute`` tokens (the burst) and refills at ``per_minute / 60`` a second; a
request takes one. Time is passed in (seconds, any monotonic origin), so the arithmetic is pure and
tested without waiting. State is kept in memory per process (docs/security.md): with several API
processes each enforces its own share, and a restart forgets it. ``Buckets`` keeps at most ``max_keys``
buckets, dropping the least recently used (a dropped bucket starts full again).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int  # tokens per minute (and the burst)
    remaining: int  # whole tokens left after this decision
    retry_after: int  # seconds until a whole token is available (0 when one is)
    reset_after: int  # seconds until the bucket is full again


@dataclass(slots=True)
class TokenBucket:
    per_minute: int
    tokens: float
    at: float

    @classmethod
    def full(cls, per_minute: int, now: float) -> TokenBucket:
        return cls(per_minute, float(per_minute), now)

    def _refill(self, now: float) -> None:
        if now > self.at:
            self.tokens = min(float(self.per_minute), self.tokens + (now - self.at) * self.per_minute / 60.0)
            self.at = now

    def _decision(self, allowed: bool) -> Decision:
        rate = self.per_minute / 60.0
        missing = 1.0 - self.tokens
        retry = 0 if missing <= 0 else max(1, math.ceil(missing / rate))
        reset = max(0, math.ceil((self.per_minute - self.tokens) / rate))
        return Decision(allowed, self.per_minute, max(0, math.floor(self.tokens)), retry, reset)

    def take(self, now: float, cost: float = 1.0) -> Decision:
        self._refill(now)
        if self.tokens >= cost:
            self.tokens -= cost
            return self._decision(True)
        return self._decision(False)

    def peek(self, now: float) -> Decision:
        self._refill(now)
        return self._decision(self.tokens >= 1.0)


class Buckets:
    """Buckets by key, each with its own limit; thread-safe (the API's handlers run in worker threads)."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()
        self._max = max_keys
        self._lock = threading.Lock()

    def _bucket(self, key: str, per_minute: int, now: float) -> TokenBucket:
        b = self._buckets.get(key)
        if b is None:
            b = self._buckets[key] = TokenBucket.full(per_minute, now)
            while len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            if b.per_minute != per_minute:  # the limit changed (a new tier): keep the fill ratio
                b._refill(now)
                b.tokens = b.tokens * per_minute / b.per_minute if b.per_minute else float(per_minute)
                b.per_minute = per_minute
        return b

    def take(self, key: str, per_minute: int, now: float) -> Decision:
        """Take a token from ``key``'s bucket; ``per_minute`` <= 0 means no limit (always allowed)."""
        if per_minute <= 0:
            return Decision(True, 0, 0, 0, 0)
        with self._lock:
            return self._bucket(key, per_minute, now).take(now)

    def peek(self, key: str, per_minute: int, now: float) -> Decision:
        """The state of ``key``'s bucket without taking anything (a full bucket if it has none yet)."""
        if per_minute <= 0:
            return Decision(True, 0, 0, 0, 0)
        with self._lock:
            b = self._buckets.get(key)
            if b is None:
                return TokenBucket.full(per_minute, now).peek(now)
            return self._bucket(key, per_minute, now).peek(now)

    def blocked(self, key: str, per_minute: int, now: float) -> Decision | None:
        """The refusal when ``key``'s bucket is empty (failure throttles: look first, take on failure)."""
        d = self.peek(key, per_minute, now)
        return None if d.allowed else d

    def __len__(self) -> int:
        return len(self._buckets)
