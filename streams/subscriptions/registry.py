"""Every account's subscription history, read from the compacted ``billing.subscriptions`` topic.

A record is one ``SubscriptionVersion`` (docs/architecture.md §10) keyed by account id; because compaction keeps
only the latest record per key, a publisher puts the account's earlier versions in ``history`` (the
CLI and the API do), so a worker starting from a compacted topic still knows which version was in
effect at any event time.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

import orjson
from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError

from rating.settle import version_for
from rating.subscriptions import SubscriptionHistory, SubscriptionVersion
from streams.kafka.compacted import follow_from_start

log = logging.getLogger(__name__)


def encode_subscription(version: SubscriptionVersion, history: list[SubscriptionVersion]) -> bytes:
    doc = version.model_dump(mode="json", exclude_none=True)
    older = [h for h in history if (h.effective_from, h.version) < (version.effective_from, version.version)]
    if older:
        doc["history"] = [h.model_dump(mode="json", exclude_none=True) for h in older]
    return orjson.dumps(doc)


def decode_subscription(value: bytes) -> list[SubscriptionVersion]:
    """The versions a record carries (its history, then itself); raises ValueError if malformed."""
    try:
        doc = orjson.loads(value)
        versions = [SubscriptionVersion.model_validate(h) for h in doc.pop("history", [])]
        versions.append(SubscriptionVersion.model_validate(doc))
    except (orjson.JSONDecodeError, ValidationError, AttributeError, TypeError) as exc:
        raise ValueError(f"malformed subscription record: {exc}") from exc
    return versions


class SubscriptionRegistry:
    """In-memory histories, fed by a background reader of the compacted topic."""

    def __init__(self) -> None:
        self._versions: dict[str, dict[tuple[datetime, int], SubscriptionVersion]] = {}
        self._histories: dict[str, SubscriptionHistory] = {}
        self.ready = asyncio.Event()
        #: Bumped by every ``apply``; ``changed_at`` says when an account last changed, so caches of
        #: resolved versions (the live stage's) drop only that account's entries.
        self.generation = 0
        self._changed_at: dict[str, int] = {}

    def apply(self, versions: list[SubscriptionVersion]) -> None:
        self.generation += 1
        for v in versions:
            self._versions.setdefault(v.account_id, {})[(v.effective_from, v.version)] = v
            self._histories.pop(v.account_id, None)
            self._changed_at[v.account_id] = self.generation

    def changed_at(self, account_id: str) -> int:
        """The ``generation`` of the account's last change (0: never had a version)."""
        return self._changed_at.get(account_id, 0)

    def history(self, account_id: str) -> SubscriptionHistory | None:
        if account_id not in self._versions:
            return None
        h = self._histories.get(account_id)
        if h is None:
            h = self._histories[account_id] = SubscriptionHistory(account_id, self._versions[account_id].values())
        return h

    def version_at(self, account_id: str, kind: Any, at: datetime) -> SubscriptionVersion:
        """The version in effect, or the free tier (anchored on the 1st) for an unknown account."""
        return version_for(account_id, kind, self.history, at)

    def accounts(self) -> list[str]:
        return sorted(self._versions)

    def all_versions(self, account_id: str) -> list[SubscriptionVersion]:
        return sorted(self._versions.get(account_id, {}).values(), key=lambda v: (v.effective_from, v.version))


async def follow(registry: SubscriptionRegistry, bootstrap: str, topic: str, stop: asyncio.Event) -> None:
    """Read the topic from the beginning (no consumer group: every worker needs every account) and
    keep following it; ``registry.ready`` is set once the initial contents are loaded."""

    def apply(r: ConsumerRecord[bytes, bytes]) -> None:
        if r.value is None:
            return  # a tombstone: the account's record was deleted
        try:
            registry.apply(decode_subscription(r.value))
        except ValueError as exc:
            log.error("skipping subscription record at %s:%s: %s", r.partition, r.offset, exc)

    await follow_from_start(bootstrap, topic, apply, stop=stop, caught_up=registry.ready)


async def load_registry(bootstrap: str, topic: str) -> SubscriptionRegistry:
    """The registry of every account's history as the topic holds it now (for CLI commands)."""
    from streams.kafka.compacted import read_to_end

    registry = SubscriptionRegistry()
    for r in await read_to_end(bootstrap, topic):
        if r.value is None:
            continue
        try:
            registry.apply(decode_subscription(r.value))
        except ValueError as exc:
            log.error("skipping subscription record at %s:%s: %s", r.partition, r.offset, exc)
    registry.ready.set()
    return registry
