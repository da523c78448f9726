"""One ingest batch the way the ingest agent runs it: decode, look the keys up, route."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from streams.ingest.dedupe import DedupeStore
from streams.ingest.step import IngestResult, IngestStep, InRecord


def ingest_batch(step: IngestStep, dedupe: DedupeStore, records: Sequence[InRecord], now: datetime) -> IngestResult:
    out, candidates = step.decode(records, now)
    return step.route(out, candidates, dedupe.seen(step.lookup_keys(out, candidates)))
