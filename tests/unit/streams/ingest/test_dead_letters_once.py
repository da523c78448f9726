"""A record read again (a rebalance or a restart before its offset was committed) is neither dead-lettered
nor counted twice: dead letters are claimed in the dedupe store (real RocksDB) by the record they came from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from schemas.decode import DecodeLimits
from schemas.dlq import decode_dead_letter
from streams.ingest.dedupe import DedupeStore
from streams.ingest.step import IngestStep, InRecord
from tests.support.ingest import ingest_batch

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def _ev(event_id: str, metric: str = "api_calls") -> dict[str, object]:
    return {
        "event_id": event_id,
        "timestamp": (NOW - timedelta(minutes=1)).isoformat(),
        "user_id": "u-1",
        "metric": metric,
        "quantity": 1,
        "source": "chat",
    }


def test_a_record_read_again_is_dead_lettered_once(tmp_path: Path) -> None:
    store = DedupeStore(tmp_path / "dedupe", timedelta(hours=48), NOW)
    step = IngestStep(4, DecodeLimits())
    records = [
        InRecord(b"{not json", "usage.events", 0, 7),
        InRecord(orjson.dumps({"events": [_ev("ok-1"), _ev("bad-1", "nope")]}), "usage.events", 0, 8),
        # The same bad event in another record is another dead letter: the record, not the id, is the key.
        InRecord(orjson.dumps({"events": [_ev("bad-1", "nope")]}), "usage.events", 1, 8),
    ]
    first = ingest_batch(step, store, records, NOW)
    assert dict(first.rejected_by_reason) == {"not_json": 1, "unknown_metric": 2}
    assert len(first.dead_letters) == 3 and first.accepted_count == 1
    assert {decode_dead_letter(d).source_offset for d in first.dead_letters} == {7, 8}
    store.claim(first.to_claim)

    again = ingest_batch(step, store, records, NOW)
    assert again.dead_letters == [] and dict(again.rejected_by_reason) == {}
    assert again.accepted_count == 0 and again.duplicates == 1
    # A new record at a later offset is still dead-lettered.
    later = ingest_batch(step, store, [InRecord(b"{not json", "usage.events", 0, 9)], NOW)
    assert dict(later.rejected_by_reason) == {"not_json": 1}
    store.close()
