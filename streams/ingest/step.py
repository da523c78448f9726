"""The ingest step: one batch of ``usage.events`` records in, decisions out.

Pure apart from the dedupe store lookup; the agent (``streams/ingest/agents.py``) does the Kafka I/O and
claims the batch's ``(source, event_id)`` keys only after its outputs were delivered.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from schemas.decode import DecodeLimits, decode_record
from schemas.dlq import DeadLetter, encode_dead_letter
from schemas.events import AcceptedEvent
from schemas.partitioning import partition_for
from streams.ingest.dedupe import Key


@dataclass(frozen=True, slots=True)
class InRecord:
    """One Kafka record of ``usage.events`` as the ingest step sees it."""

    value: bytes
    topic: str
    partition: int
    offset: int


@dataclass(slots=True)
class IngestResult:
    """What one batch produced: accepted events grouped by target partition, dead letters, counts."""

    accepted: dict[int, list[AcceptedEvent]] = field(default_factory=lambda: defaultdict(list))
    dead_letters: list[bytes] = field(default_factory=list)
    rejected_by_reason: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    claimed_keys: list[Key] = field(default_factory=list)
    events_in: int = 0
    duplicates: int = 0

    @property
    def accepted_count(self) -> int:
        return len(self.claimed_keys)


class IngestStep:
    """Validates, deduplicates and routes a batch of records (docs/architecture.md §3, §8)."""

    def __init__(self, accepted_partitions: int, limits: DecodeLimits) -> None:
        self._partitions = accepted_partitions
        self._limits = limits

    def decode(self, records: Sequence[InRecord], now: datetime) -> tuple[IngestResult, list[AcceptedEvent]]:
        """Validate every record: dead letters and counts in the result, valid events returned."""
        out = IngestResult()
        candidates: list[AcceptedEvent] = []
        for rec in records:
            decoded = decode_record(rec.value, now=now, limits=self._limits)
            out.events_in += decoded.total
            out.duplicates += decoded.duplicates
            for rej in decoded.rejections:
                out.rejected_by_reason[rej.reason.value] += 1
                letter = DeadLetter.from_rejection(rej, rec.topic, rec.partition, rec.offset, now)
                out.dead_letters.append(encode_dead_letter(letter))
            candidates.extend(decoded.accepted)
        return out, candidates

    def route(self, out: IngestResult, candidates: list[AcceptedEvent], seen: Sequence[bool]) -> IngestResult:
        """Drop events seen before (or earlier in this batch) and group the rest by target partition.

        The dedupe key is ``(source, event_id)``: the same id from two sources is two events."""
        in_batch: set[Key] = set()
        for ev, was_seen in zip(candidates, seen, strict=True):
            key = (ev.source, ev.event_id)
            if was_seen or key in in_batch:
                out.duplicates += 1
                continue
            in_batch.add(key)
            out.claimed_keys.append(key)
            out.accepted[partition_for(ev.account_id, self._partitions)].append(ev)
        return out
