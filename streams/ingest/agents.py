"""The ingest agent: a thin Faust loop that takes batches of ``usage.events``, calls the step, and emits.

At-least-once (docs/architecture.md §8): a batch is acknowledged — so its offsets may be committed — only
after everything it produced was delivered; its dedupe keys are claimed only then.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import faust

from schemas.accepted import encode_rows
from streams.ingest.step import InRecord
from streams.worker.app import Wiring
from streams.worker.crash import crash_only

T = TypeVar("T")

#: Accepted rows per ``usage.accepted`` record (~300 bytes each: well under the request size).
ROWS_PER_RECORD = 1000


def _chunks(rows: Sequence[T], size: int) -> list[Sequence[T]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


async def ingest_batch(w: Wiring, batch: Sequence[Any], accepted: faust.TopicT, dlq: faust.TopicT) -> None:
    """Validate, dedupe and route one batch; claim its keys only once its outputs were delivered."""
    assert w.ingest is not None and w.dedupe is not None, "an ingest agent on a worker without ingest"
    records = [InRecord(e.value or b"", e.message.topic, e.message.partition, e.message.offset) for e in batch]
    out, candidates = w.ingest.decode(records, datetime.now(UTC))
    # RocksDB releases the GIL: the lookup runs beside the other agents instead of blocking them.
    seen = await asyncio.to_thread(w.dedupe.seen, w.ingest.lookup_keys(out, candidates))
    result = w.ingest.route(out, candidates, seen)
    pending = []
    for partition, rows in result.accepted.items():
        for chunk in _chunks(rows, ROWS_PER_RECORD):
            pending.append(await accepted.send(value=encode_rows(chunk), partition=partition, force=True))
    for letter in result.dead_letters:
        pending.append(await dlq.send(value=letter, force=True))
    await asyncio.gather(*pending)
    await asyncio.to_thread(w.dedupe.claim, result.to_claim)
    m = w.metrics
    m.records_in.inc(len(records))
    m.events_in.inc(result.events_in)
    m.events_accepted.inc(result.accepted_count)
    m.events_duplicate.inc(result.duplicates)
    for reason, n in result.rejected_by_reason.items():
        m.events_rejected.labels(reason).inc(n)
    m.batch_events.observe(result.events_in)


def register_ingest(w: Wiring, events: faust.TopicT, accepted: faust.TopicT, dlq: faust.TopicT) -> None:
    """Attach the ingest agent to ``usage.events``."""
    s = w.settings

    async def ingest(stream: faust.StreamT[Any]) -> None:
        async for batch in stream.take_events(s.ingest_take_records, within=s.ingest_linger_seconds):
            await ingest_batch(w, batch, accepted, dlq)

    w.app.agent(events, name="meterline.ingest")(crash_only(ingest))
