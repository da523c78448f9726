"""Live de-duplication of ``(source, event_id)`` keys in RocksDB, written once per batch.

Why not a Faust table: a table write per event costs ~260 µs and a changelog record each
(docs/architecture.md §9), far too much at 100k events/s. A RocksDB TTL store keyed by ``(source, event_id)``
costs about 1 µs a lookup and is written in one ``WriteBatch`` per batch. It is a *live* guard
only: money is settled from ClickHouse, where events are deduplicated again by
``(source, event_id)`` (docs/events.md), so a partition that moves to another worker may briefly
let a replayed duplicate into the live view, never into a settled total.

The key is namespaced by source so that one sender's ids never suppress another's (an event id is
unique only within its source, as in CloudEvents). Stores written before that held bare event ids:
for one horizon after such a store is first opened by this code, a bare id is looked up too, so an
event sent just before the upgrade and replayed just after is still counted once (docs/events.md).

Ids are claimed only after the batch's outputs were written (docs/architecture.md §8: a dedupe key is never
claimed before the write), so a crash between the two re-sends the batch instead of losing it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from rocksdict import AccessType, BlockBasedOptions, Options, Rdict, WriteBatch

from streams.errors import MeterlineError

#: A dedupe key: the event's source and its id.
Key = tuple[str, str]
#: Marks a key namespaced by source (a bare legacy key is the event id's UTF-8 bytes).
_TAG = b"\x00s"


class DedupeStoreError(MeterlineError):
    """The RocksDB dedupe store could not be opened or written (disk full, permissions, lock)."""


def encode_key(source: str, event_id: str) -> bytes:
    """The store key of ``(source, event_id)``: length-prefixed source, so no two pairs share a key."""
    s = source.encode()
    return _TAG + len(s).to_bytes(2, "big") + s + event_id.encode()


class DedupeStore:
    """``(source, event_id)`` pairs seen within the horizon; entries expire by RocksDB TTL at compaction."""

    def __init__(self, path: Path, horizon: timedelta, now: datetime) -> None:
        self._path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            opts = Options(raw_mode=True)
            opts.create_if_missing(True)
            # Most lookups are misses (new events): a bloom filter answers those without reading tables.
            table = BlockBasedOptions()
            table.set_bloom_filter(10, False)
            opts.set_block_based_table_factory(table)
            self._db = Rdict(str(path), options=opts, access_type=AccessType.with_ttl(int(horizon.total_seconds())))
        except Exception as exc:  # rocksdict raises plain Exception subclasses
            raise DedupeStoreError(
                f"cannot open the dedupe store at {path}: {exc} "
                "(check free disk space and permissions of METERLINE_DATA_DIR; only one worker may use it)"
            ) from exc
        self.legacy_until = self._legacy_until(horizon, now)
        #: Whether bare event ids (claimed before keys carried the source) are still looked up.
        self.reads_legacy = now < self.legacy_until

    def _legacy_until(self, horizon: timedelta, now: datetime) -> datetime:
        """When bare-id keys of an older store have all expired, recorded beside the store at first open."""
        marker = self._path.with_name(self._path.name + ".keyed-by-source")
        try:
            return datetime.fromisoformat(marker.read_text(encoding="ascii").strip())
        except FileNotFoundError:
            pass
        except ValueError as exc:
            raise DedupeStoreError(f"unreadable dedupe format marker {marker}: {exc}") from exc
        fresh = next(iter(self._db.keys()), None) is None
        until = now if fresh else now + horizon
        try:
            marker.write_text(until.isoformat(), encoding="ascii")
        except OSError as exc:
            raise DedupeStoreError(f"cannot write the dedupe format marker {marker}: {exc}") from exc
        return until

    def seen(self, keys: Sequence[Key]) -> list[bool]:
        """For each ``(source, event_id)``, whether it was claimed before (one multi-get for the batch)."""
        if not keys:
            return []
        found = [v is not None for v in self._db.get([encode_key(s, e) for s, e in keys])]
        if self.reads_legacy:
            bare = self._db.get([e.encode() for _, e in keys])
            found = [f or v is not None for f, v in zip(found, bare, strict=True)]
        return found

    def claim(self, keys: Iterable[Key]) -> None:
        """Record pairs as seen, atomically, after their batch was written downstream."""
        wb = WriteBatch(raw_mode=True)
        n = 0
        for s, e in keys:
            wb.put(encode_key(s, e), b"")
            n += 1
        if n == 0:
            return
        try:
            self._db.write(wb)
        except Exception as exc:
            raise DedupeStoreError(f"cannot write the dedupe store at {self._path}: {exc}") from exc

    def close(self) -> None:
        self._db.close()
