"""The dedupe key is ``(source, event_id)`` (docs/events.md), in the decoder, the ingest step and the
RocksDB dedupe store (real RocksDB in a temporary directory); a store written before keys carried the
source keeps deduplicating bare ids for one horizon."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
from rocksdict import AccessType, Options, Rdict

from schemas.decode import DecodeLimits, decode_record
from streams.ingest.dedupe import DedupeStore, encode_key
from streams.ingest.step import IngestStep, InRecord
from tests.support.ingest import ingest_batch

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
HORIZON = timedelta(hours=48)


def _ev(source: str, event_id: str, quantity: int, org: str = "org-1") -> dict[str, Any]:
    return {
        "event_id": event_id,
        "timestamp": (NOW - timedelta(minutes=1)).isoformat(),
        "user_id": "u-1",
        "org_id": org,
        "metric": "ai_requests",
        "quantity": quantity,
        "source": source,
    }


def _record(*events: dict[str, Any], offset: int = 0) -> InRecord:
    return InRecord(orjson.dumps({"events": list(events)}), "usage.events", 0, offset)


def test_one_record_keeps_the_same_id_of_two_sources() -> None:
    raw = orjson.dumps({"events": [_ev("api:org-1", "e1", 0), _ev("chat", "e1", 250), _ev("chat", "e1", 250)]})
    out = decode_record(raw, now=NOW, limits=DecodeLimits())
    assert [(e.source, e.quantity) for e in out.accepted] == [("api:org-1", 0), ("chat", 250)]
    assert out.duplicates == 1


def test_store_keys_by_source_and_event_id(tmp_path: Path) -> None:
    store = DedupeStore(tmp_path / "dedupe", HORIZON, NOW)
    assert not store.reads_legacy  # a new store has no bare ids to honour
    store.claim([("api:org-1", "chat-req-42")])
    assert store.seen([("api:org-1", "chat-req-42"), ("chat", "chat-req-42"), ("api:org-2", "chat-req-42")]) == [
        True,
        False,
        False,
    ]
    # Length-prefixed sources: no (source, id) pair can pose as another by moving the boundary.
    assert encode_key("ab", "c") != encode_key("a", "bc")
    store.claim([("a", "bc")])
    assert store.seen([("ab", "c"), ("a", "bc")]) == [False, True]
    store.close()


def test_ingest_step_counts_each_source_once(tmp_path: Path) -> None:
    store = DedupeStore(tmp_path / "dedupe", HORIZON, NOW)
    step = IngestStep(4, DecodeLimits())
    # A member's quantity-0 event claims the service's id first, in another record.
    first = ingest_batch(step, store, [_record(_ev("api:org-1", "chat-req-42", 0))], NOW)
    store.claim(first.claimed_keys)
    later = ingest_batch(
        step,
        store,
        [
            _record(_ev("chat", "chat-req-42", 250), offset=1),
            _record(_ev("chat", "chat-req-42", 250), _ev("api:org-2", "chat-req-42", 5, org="org-2"), offset=2),
        ],
        NOW,
    )
    store.claim(later.claimed_keys)
    accepted = sorted((e.source, e.quantity) for evs in later.accepted.values() for e in evs)
    assert accepted == [("api:org-2", Decimal(5)), ("chat", Decimal(250))]
    assert later.duplicates == 1
    replay = ingest_batch(
        step, store, [_record(_ev("chat", "chat-req-42", 250)), _record(_ev("api:org-1", "chat-req-42", 0))], NOW
    )
    assert (replay.accepted_count, replay.duplicates) == (0, 2)
    store.close()


def _old_store(path: Path, *event_ids: str) -> None:
    """A store as written before keys carried the source: bare event ids."""
    opts = Options(raw_mode=True)
    opts.create_if_missing(True)
    db = Rdict(str(path), options=opts, access_type=AccessType.with_ttl(int(HORIZON.total_seconds())))
    for e in event_ids:
        db[e.encode()] = b""
    db.close()


def test_ids_claimed_before_the_upgrade_still_deduplicate_for_one_horizon(tmp_path: Path) -> None:
    path = tmp_path / "dedupe"
    _old_store(path, "old-1")
    store = DedupeStore(path, HORIZON, NOW)
    assert store.reads_legacy and store.legacy_until == NOW + HORIZON
    assert store.seen([("chat", "old-1"), ("chat", "new-1")]) == [True, False]
    store.claim([("chat", "new-1")])
    store.close()
    # Reopened within the horizon: the recorded end holds (not pushed back by the reopening).
    store = DedupeStore(path, HORIZON, NOW + timedelta(hours=47))
    assert store.reads_legacy and store.legacy_until == NOW + HORIZON
    store.close()
    # Past the horizon the old ids have expired: only (source, event_id) keys are read.
    store = DedupeStore(path, HORIZON, NOW + HORIZON)
    assert not store.reads_legacy
    assert store.seen([("chat", "old-1"), ("chat", "new-1"), ("other", "new-1")]) == [False, True, False]
    store.close()
