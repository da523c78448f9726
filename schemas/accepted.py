"""The record format of ``usage.accepted``: newline-delimited JSON rows, one accepted event each.

Each row has exactly the columns of the ClickHouse ``events`` table, so the events sink writes
the record bytes as ``JSONEachRow`` without touching them, and the rating stage decodes them
with ``decode_rows``. Timestamps are decimal epoch seconds with milliseconds (``1795500000.123``),
quantities decimal strings; property values are strings (ClickHouse ``Map(String, String)``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec

from schemas.events import AcceptedEvent, epoch_ms


class AcceptedRow(msgspec.Struct, frozen=True, gc=False):
    event_id: str
    account_id: str
    user_id: str
    org_id: str | None
    metric: str
    quantity: str
    timestamp: str
    properties: dict[str, str]
    source: str
    ingested_at: str

    @property
    def ts_ms(self) -> int:
        sec, _, milli = self.timestamp.partition(".")
        return int(sec) * 1000 + int(milli or 0)

    @property
    def quantity_decimal(self) -> Decimal:
        return Decimal(self.quantity)


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(AcceptedRow)


def _ms_text(ms: int) -> str:
    return f"{ms // 1000}.{ms % 1000:03d}"


def _prop_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return v if isinstance(v, str) else str(v)


def accepted_row(ev: AcceptedEvent, ingested_at: datetime) -> bytes:
    """One row of ``usage.accepted`` / ClickHouse ``events`` for an accepted event."""
    return _encoder.encode(
        AcceptedRow(
            ev.event_id,
            ev.account_id,
            ev.user_id,
            ev.org_id,
            ev.metric,
            format(ev.quantity, "f"),
            _ms_text(ev.ts_ms),
            {k: _prop_text(v) for k, v in ev.properties.items() if v is not None},
            ev.source,
            _ms_text(epoch_ms(ingested_at)),
        )
    )


def decode_rows(record: bytes) -> list[AcceptedRow]:
    """The rows of one ``usage.accepted`` record."""
    return [_decoder.decode(line) for line in record.split(b"\n") if line]
