"""The ingest step: one batch of ``usage.events`` records in, decisions out.

Pure apart from the dedupe store lookup; the agent (``streams/ingest/agents.py``) does the Kafka I/O and
claims the batch's keys only after its outputs were delivered.

Dead letters are deduplicated too, by the record they came from: a record read again after a rebalance or a
restart (delivery is at least once) would otherwise be dead-lettered and counted twice.
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

#: The dedupe namespace of dead letters: a NUL-led source no sender can have (sources are printable).
DEAD_LETTER_SOURCE = "\x00dead-letter"


def dead_letter_key(letter: DeadLetter) -> Key:
    """Which record (and which event in a batch record) a dead letter came from."""
    return (
        DEAD_LETTER_SOURCE,
        f"{letter.source_topic}/{letter.source_partition}/{letter.source_offset}/{letter.batch_index}",
    )


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
    #: Dead letters not written before, encoded for the DLQ topic.
    dead_letters: list[bytes] = field(default_factory=list)
    #: Every dead letter the batch produced, before the lookup of the ones written before.
    letters: list[DeadLetter] = field(default_factory=list)
    rejected_by_reason: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    claimed_keys: list[Key] = field(default_factory=list)
    #: The dedupe keys of the dead letters written (``dead_letter_key``), claimed with the events' keys.
    claimed_letters: list[Key] = field(default_factory=list)
    events_in: int = 0
    duplicates: int = 0

    @property
    def accepted_count(self) -> int:
        return len(self.claimed_keys)

    @property
    def to_claim(self) -> list[Key]:
        """Every key to claim once the batch's outputs were delivered: accepted events' and dead letters'."""
        return self.claimed_keys + self.claimed_letters


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
                out.letters.append(DeadLetter.from_rejection(rej, rec.topic, rec.partition, rec.offset, now))
            candidates.extend(decoded.accepted)
        return out, candidates

    @staticmethod
    def lookup_keys(out: IngestResult, candidates: Sequence[AcceptedEvent]) -> list[Key]:
        """The keys to look up in the dedupe store: the candidates' ``(source, event_id)``, then the letters'."""
        return [(ev.source, ev.event_id) for ev in candidates] + [dead_letter_key(d) for d in out.letters]

    def route(self, out: IngestResult, candidates: list[AcceptedEvent], seen: Sequence[bool]) -> IngestResult:
        """Drop events and dead letters seen before (or earlier in this batch); group events by target partition.

        ``seen`` answers ``lookup_keys`` in order. The dedupe key is ``(source, event_id)``: the same id from two
        sources is two events. A dead letter already written (its record was read again) is neither re-sent
        nor counted again; its key is claimed with the events' (``to_claim``)."""
        events_seen, letters_seen = seen[: len(candidates)], seen[len(candidates) :]
        for letter, was_seen in zip(out.letters, letters_seen, strict=True):
            if was_seen:
                continue
            out.rejected_by_reason[letter.reason] += 1
            out.dead_letters.append(encode_dead_letter(letter))
            out.claimed_letters.append(dead_letter_key(letter))
        in_batch: set[Key] = set()
        for ev, was_seen in zip(candidates, events_seen, strict=True):
            key = (ev.source, ev.event_id)
            if was_seen or key in in_batch:
                out.duplicates += 1
                continue
            in_batch.add(key)
            out.claimed_keys.append(key)
            out.accepted[partition_for(ev.account_id, self._partitions)].append(ev)
        return out
