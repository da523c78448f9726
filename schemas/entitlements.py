"""Entitlement answers inside a gateway's own process, from ``billing.quota-state`` (docs/gateways.md).

    async with QuotaStateFollower("127.0.0.1:9092") as quota:   # reads the compacted topic, keeps following
        answer = quota.cache.get("org-9", "api_calls")            # a dict look-up: microseconds
        if answer is None:
            ...  # unknown or too old here: ask GET /api/billing/entitlements/{account}/{metric}
        elif not answer.allowed:
            ...  # refuse: answer.reason is "hard_capped" or "not_entitled"

The live rating stage publishes one record per account and metric (key ``<account>:<metric>``) each time its
period-to-date usage changes; this keeps the latest of each in memory, at most ``max_entries`` (the least
recently updated are dropped first). An answer is served at most ``max_age`` seconds after the follower last
confirmed it had read the topic to its end (or after the record arrived, if later): when Kafka or the
follower stalls, answers age out and the gateway falls back to the API instead of trusting old state.

``check`` is ``get`` with the organization's AI controls and hard AI caps applied (the ``ai_controls`` and
``ai_cap`` records the API publishes on the same topic, keys starting with ``@``; schemas/ai_rules.py holds the
rule the API applies too).

It answers metrics only (``api_calls``, ``ai_requests``, ...), with the rule of the last rated event: a tier
change shows once usage is rated under it, a new period once its first event is. Tier features, premium
features, the subscription status and the rate-limit budget are the API's. It does no authorization: the
gateway has authenticated its caller and decided which account it acts for, and reads this topic with its
own Kafka credentials (any account's quota state is in it).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from types import TracebackType

import orjson
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from schemas import ai_rules

log = logging.getLogger(__name__)

DEFAULT_QUOTA_TOPIC = "billing.quota-state"


@dataclass(frozen=True, slots=True)
class LocalEntitlement:
    """The metric fields of the API's entitlement answer (``kind`` "metric"), as the quota state gives them."""

    account_id: str
    feature: str  # the metric
    period: str
    allowed: bool
    reason: str | None  # "not_entitled", "hard_capped" or None
    limit: str | None  # the hard cap, else the included quantity (decimal text; None: unlimited)
    used: str
    remaining: str | None
    rate_limit_per_minute: int | None
    as_of: str  # when the live stage computed it (RFC 3339)


def _answer(record: dict[str, object]) -> LocalEntitlement | None:
    try:
        account, metric, period = str(record["account_id"]), str(record["metric"]), str(record["period"])
        entitled = bool(record.get("entitled", True))
        capped = bool(record.get("hard_capped", False))
        hard_cap, included = record.get("hard_cap"), record.get("included")
        limit = hard_cap if hard_cap is not None else included
        used = str(record.get("used") or "0")
        remaining = None
        if limit is not None:
            remaining = f"{max(Decimal(0), Decimal(str(limit)) - Decimal(used)).normalize():f}"
        rate = record.get("rate_limit_per_minute")
        return LocalEntitlement(
            account_id=account,
            feature=metric,
            period=period,
            allowed=entitled and not capped,
            reason="not_entitled" if not entitled else "hard_capped" if capped else None,
            limit=None if limit is None else str(limit),
            used=used,
            remaining=remaining,
            rate_limit_per_minute=rate if isinstance(rate, int) else None,
            as_of=str(record.get("as_of") or ""),
        )
    except (KeyError, ArithmeticError, ValueError):
        return None


def _loads(value: bytes) -> dict[str, object] | None:
    try:
        record = orjson.loads(value)
    except orjson.JSONDecodeError:
        log.error("skipping a malformed quota-state record")
        return None
    return record if isinstance(record, dict) else None


def parse_quota_key(key: bytes | None) -> tuple[str, str] | None:
    """``(account, metric)`` of a ``billing.quota-state`` metric record key (``<account>:<metric>``), None if
    malformed or another kind's (an AI controls or cap record's key starts with ``@``)."""
    if not key or key.startswith(b"@"):
        return None
    account, _, metric = key.decode(errors="replace").rpartition(":")
    return (account, metric) if account else None


class EntitlementCache:
    """The latest answer per (account, metric): bounded, expiring, fed by ``apply`` (thread-safe to read)."""

    def __init__(
        self, max_entries: int = 100_000, max_age: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if max_entries < 1 or max_age <= 0:
            raise ValueError("max_entries must be >= 1 and max_age > 0")
        self.max_entries, self.max_age, self._clock = max_entries, max_age, clock
        self._entries: dict[tuple[str, str], tuple[float, LocalEntitlement]] = {}
        self._confirmed = float("-inf")  # when the follower last read the topic to its end
        # AI controls and cap state per record key: one per organization and member with controls (small).
        self._controls: dict[bytes, ai_rules.Controls] = {}
        self._caps: dict[bytes, bool] = {}

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        """One ``billing.quota-state`` record (a tombstone removes the entry)."""
        if key and key.startswith(b"@"):
            self._apply_ai(key, value)
            return
        k = parse_quota_key(key)
        if k is None:
            return
        self._entries.pop(k, None)  # re-inserted last: the dict's order is the order of updates
        if value is None:
            return
        record = _loads(value)
        answer = _answer(record) if record is not None else None
        if answer is None or (answer.account_id, answer.feature) != k:
            return
        self._entries[k] = (self._clock(), answer)
        while len(self._entries) > self.max_entries:
            self._entries.pop(next(iter(self._entries)), None)

    def _apply_ai(self, key: bytes, value: bytes | None) -> None:
        """An AI controls or cap record (schemas/ai_rules.py); an unknown kind or version is ignored."""
        record = _loads(value) if value is not None else None
        if record is None or record.get("v") != ai_rules.RECORD_VERSION:
            self._controls.pop(key, None)
            self._caps.pop(key, None)
            return
        account, user = str(record.get("account_id", "")), str(record.get("user_id", ""))
        if record.get("kind") == ai_rules.CONTROLS_KIND and key == ai_rules.controls_key(account, user):
            controls = ai_rules.parse_controls(record)
            if controls is not None:
                self._controls[key] = controls
        elif record.get("kind") == ai_rules.CAP_KIND and key == ai_rules.cap_key(account, user):
            self._caps[key] = record.get("reached") is True

    def check(
        self,
        account: str,
        feature: str,
        *,
        user_id: str | None = None,
        provider: str | None = None,
        model: str | None = None,
    ) -> LocalEntitlement | None:
        """The answer of ``get`` with the organization's AI controls and hard caps applied for the member,
        provider and model asked about (the API's rule, schemas/ai_rules.py); None: ask the API."""
        answer = self.get(account, feature)
        if answer is None or not answer.allowed:
            return answer
        bound = ai_rules.binding(account, user_id)
        rules = [c for a, u in bound if (c := self._controls.get(ai_rules.controls_key(a, u))) is not None]
        reason = ai_rules.refusal(
            rules,
            feature,
            provider,
            model,
            premium=False,  # premium features are the API's to answer
            cap_reached=lambda: any(self._caps.get(ai_rules.cap_key(a, u), False) for a, u in bound),
        )
        return answer if reason is None else dataclasses.replace(answer, allowed=False, reason=reason)

    def confirm(self) -> None:
        """The follower has read the topic to its end: every entry is current as of now."""
        self._confirmed = self._clock()

    def get(self, account: str, metric: str) -> LocalEntitlement | None:
        """The answer, or None when unknown here or older than ``max_age`` (then ask the API)."""
        hit = self._entries.get((account, metric))
        if hit is None:
            return None
        received, answer = hit
        if self._clock() - max(received, self._confirmed) > self.max_age:
            return None
        return answer

    def __len__(self) -> int:
        return len(self._entries)


class QuotaStateFollower:
    """Reads ``billing.quota-state`` from the beginning (no consumer group, nothing committed) into ``cache``
    and keeps following it; ``ready`` is set once what the topic held at the start is loaded. Kafka errors
    are retried; meanwhile answers age out (``EntitlementCache.max_age``)."""

    def __init__(
        self,
        bootstrap: str,
        topic: str = DEFAULT_QUOTA_TOPIC,
        cache: EntitlementCache | None = None,
        *,
        confirm_every: float = 1.0,
        **consumer_options: object,
    ) -> None:
        self.bootstrap, self.topic = bootstrap, topic
        self.cache = cache if cache is not None else EntitlementCache()  # an empty one is falsy (len 0)
        self.confirm_every = confirm_every
        self.ready = asyncio.Event()
        self._options = consumer_options
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self, wait_ready: float | None = 30.0) -> None:
        self._task = asyncio.create_task(self._run())
        if wait_ready:
            await asyncio.wait_for(self.ready.wait(), wait_ready)

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._task, timeout=10)

    async def __aenter__(self) -> QuotaStateFollower:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def _run(self) -> None:
        delay = 0.5
        while not self._stop.is_set():
            try:
                await self._follow()
            except Exception as exc:
                log.warning("quota-state follower: %s; retrying in %.1fs", exc, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=delay)
                delay = min(delay * 2, 10.0)

    async def _follow(self) -> None:
        loop = asyncio.get_running_loop()
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, enable_auto_commit=False, group_id=None, **self._options
        )
        await consumer.start()
        try:
            parts = None
            while not parts:  # a topic created a moment ago may take a few metadata rounds to appear
                await consumer._client.force_metadata_update()
                parts = consumer.partitions_for_topic(self.topic)
                if not parts:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), timeout=0.5)
                    if self._stop.is_set():
                        return
            tps = [TopicPartition(self.topic, p) for p in sorted(parts)]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            checked = float("-inf")
            while not self._stop.is_set():
                batch = await consumer.getmany(*tps, timeout_ms=200)
                for records in batch.values():
                    for r in records:
                        self.cache.apply(r.key, r.value)
                if not self.ready.is_set() or loop.time() - checked >= self.confirm_every:
                    checked = loop.time()
                    end = await consumer.end_offsets(tps)
                    positions = [await consumer.position(tp) for tp in tps]
                    if all(pos >= end[tp] for pos, tp in zip(positions, tps, strict=True)):
                        self.cache.confirm()
                        self.ready.set()
        finally:
            with contextlib.suppress(Exception):
                await consumer.stop()
