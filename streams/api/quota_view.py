"""The live quota state (docs/architecture.md §6) of every account, followed from the compacted topic
``billing.quota-state`` (key ``<account>:<metric>``) and kept in memory: what the entitlement check
answers from without a round trip, so a gateway can call it per request."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from aiokafka.structs import ConsumerRecord

from schemas import ai_rules
from schemas.entitlements import parse_quota_key
from streams.kafka.compacted import follow_from_start

log = logging.getLogger(__name__)


class QuotaView:
    def __init__(self) -> None:
        self._states: dict[str, dict[str, dict[str, Any]]] = {}  # account -> metric -> record
        self._changes: dict[str, int] = {}  # account -> records applied so far (the live usage stream's cue)
        self._ai_changes: dict[str, int] = {}  # organization -> AI controls and cap records applied so far
        self.ready = asyncio.Event()
        self.error: str | None = None

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        parsed = parse_quota_key(key)
        if parsed is None:
            if (org := ai_rules.record_account(key)) is not None:  # read from the store; only counted here
                self._ai_changes[org] = self._ai_changes.get(org, 0) + 1
            return
        account, metric = parsed
        self._changes[account] = self._changes.get(account, 0) + 1
        if value is None:  # a tombstone
            self._states.get(account, {}).pop(metric, None)
            return
        try:
            record = orjson.loads(value)
        except orjson.JSONDecodeError:
            log.error("skipping a malformed quota-state record for %s", key)
            return
        if isinstance(record, dict):
            self._states.setdefault(account, {})[metric] = record

    def get(self, account: str, metric: str) -> dict[str, Any] | None:
        return self._states.get(account, {}).get(metric)

    def changes(self, account: str) -> int:
        """How many records of ``account`` were applied so far: a new number means new figures."""
        return self._changes.get(account, 0)

    def ai_changes(self, org: str) -> int:
        """How many AI controls and cap records (``@ai_controls:``, ``@ai_cap:``) of ``org`` were applied so far."""
        return self._ai_changes.get(org, 0)

    def for_account(self, account: str) -> dict[str, dict[str, Any]]:
        return dict(self._states.get(account, {}))

    async def follow(self, bootstrap: str, topic: str, stop: asyncio.Event) -> None:
        """Read the topic from the beginning (no consumer group) and keep following it; ``ready`` is set
        once the contents present at the start are loaded."""

        def apply(r: ConsumerRecord[bytes, bytes]) -> None:
            self.apply(r.key, r.value)

        await follow_from_start(bootstrap, topic, apply, stop=stop, caught_up=self.ready, poll_ms=200)
