"""The record format of ``usage.accepted``: newline-delimited JSON, one accepted event a line.

Each line is an ``AcceptedEvent`` encoded as is, and its fields are the columns of the ClickHouse
``events`` table (the table derives ``timestamp`` from ``ts_ms``): the events sink writes record
bytes as ``JSONEachRow`` untouched, the rating stage decodes them with ``decode_rows``, and a whole
group of events is encoded in one C call. Quantities are decimal strings, read exactly by both;
ClickHouse reads property numbers and booleans into its ``Map(String, String)`` as text.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from schemas.events import AcceptedEvent

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(AcceptedEvent)


def encode_rows(events: Sequence[AcceptedEvent]) -> bytes:
    """One ``usage.accepted`` record: the events as JSON lines."""
    return _encoder.encode_lines(events)


def decode_rows(record: bytes) -> list[AcceptedEvent]:
    """The events of one ``usage.accepted`` record."""
    return _decoder.decode_lines(record)
