"""The dead-letter record of ``usage.events.dlq`` and its ClickHouse row (``rejected_events``).

A dead letter is JSON: the reason code, a human detail, where the record came from, when it was
refused, and the original bytes in base64 (exact, even when they are not UTF-8).
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import msgspec
import orjson

from schemas.decode import Rejection
from schemas.events import epoch_ms


class DeadLetter(msgspec.Struct, frozen=True):
    reason: str
    detail: str
    raw_b64: str
    source_topic: str
    source_partition: int
    source_offset: int
    batch_index: int
    rejected_at: str  # RFC 3339, UTC
    event_id: str | None = None
    raw_truncated: bool = False

    @classmethod
    def from_rejection(
        cls, rej: Rejection, topic: str, partition: int, offset: int, rejected_at: datetime
    ) -> DeadLetter:
        return cls(
            reason=rej.reason.value,
            detail=rej.detail[:2000],
            raw_b64=base64.b64encode(rej.raw).decode("ascii"),
            source_topic=topic,
            source_partition=partition,
            source_offset=offset,
            batch_index=rej.index,
            rejected_at=rejected_at.astimezone(UTC).isoformat(timespec="milliseconds"),
            event_id=rej.event_id,
            raw_truncated=rej.truncated,
        )

    @property
    def raw(self) -> bytes:
        return base64.b64decode(self.raw_b64)


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(DeadLetter)


def encode_dead_letter(letter: DeadLetter) -> bytes:
    return _encoder.encode(letter)


def decode_dead_letter(data: bytes) -> DeadLetter:
    return _decoder.decode(data)


def rejected_row(data: bytes) -> bytes:
    """The ``rejected_events`` JSONEachRow row of one dead letter (raw shown as text for analysts)."""
    try:
        dl = decode_dead_letter(data)
    except msgspec.DecodeError:
        # Not ours (someone wrote to the DLQ by hand): keep it visible rather than failing the sink.
        return orjson.dumps(
            {
                "reason": "unreadable_dead_letter",
                "detail": "",
                "raw": data.decode("utf-8", "backslashreplace"),
                "source_topic": "",
                "source_partition": 0,
                "source_offset": 0,
                "batch_index": 0,
                "event_id": "",
                "rejected_at": "0",
            }
        )
    at = datetime.fromisoformat(dl.rejected_at)
    ms = epoch_ms(at)
    return orjson.dumps(
        {
            "rejected_at": f"{ms // 1000}.{ms % 1000:03d}",
            "reason": dl.reason,
            "detail": dl.detail,
            "source_topic": dl.source_topic,
            "source_partition": dl.source_partition,
            "source_offset": dl.source_offset,
            "batch_index": dl.batch_index,
            "event_id": dl.event_id or "",
            "raw": dl.raw.decode("utf-8", "backslashreplace"),
        }
    )
