"""The total decoder of ``usage.events`` records: any bytes in, accepted events and reasons out.

Fast path: a clean record decodes in one typed msgspec call (≈0.8 µs an event). When that fails,
the slow path decodes generically and checks each event on its own, so one bad event never costs
its good neighbours. ``decode_record`` never raises; time is passed in, never read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec

from schemas.events import (
    MAX_QUANTITY,
    QUANTITY_SCALE,
    AcceptedEvent,
    WireBatch,
    WireEvent,
    epoch_ms,
)
from schemas.ids import ID_PATTERN, KNOWN_IDS, KNOWN_SOURCES, SOURCE_PATTERN, valid_id, valid_source
from schemas.reasons import RejectReason

#: Bytes of an oversized record kept in its dead letter (the rest would bloat the DLQ).
OVERSIZED_KEEP = 64 * 1024
_ZERO = Decimal(0)
_SCALE = Decimal(1).scaleb(-QUANTITY_SCALE)
# Epoch milliseconds between years 2000 and 2200: anything else is a unit mistake (seconds, µs).
_MIN_MS, _MAX_MS = 946_684_800_000, 7_258_118_400_000

_batch_decoder = msgspec.json.Decoder(WireBatch)
_event_decoder = msgspec.json.Decoder(WireEvent)
_any_decoder = msgspec.json.Decoder(float_hook=Decimal)  # keeps JSON numbers exact
# Re-encodes those Decimals as JSON numbers again, so the slow path types them exactly as the fast
# path does (a property 1.5 stays a number, not "1.5") and a dead letter shows the event as sent.
_encoder = msgspec.json.Encoder(decimal_format="number")
_PATH = re.compile(r"`\$(?P<path>[^`]*)`$")


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    max_lateness: timedelta = timedelta(days=35)
    max_future: timedelta = timedelta(minutes=5)
    max_record_bytes: int = 1_048_576
    max_events: int = 10_000


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: RejectReason
    detail: str
    raw: bytes  # the event's JSON (the record's bytes when the record itself is unreadable)
    index: int  # position in the batch (0 for a single event or a whole-record rejection)
    event_id: str | None = None
    truncated: bool = False


@dataclass(slots=True)
class DecodeResult:
    accepted: list[AcceptedEvent] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    duplicates: int = 0  # repeats of a (source, event_id) inside this record (kept once, not rejected)

    @property
    def total(self) -> int:
        return len(self.accepted) + len(self.rejections) + self.duplicates


_DEFAULT_LIMITS = DecodeLimits()


def decode_record(
    raw: bytes,
    *,
    now: datetime,
    limits: DecodeLimits = _DEFAULT_LIMITS,
    max_lateness: timedelta | None = None,
    max_future: timedelta | None = None,
    max_record_bytes: int | None = None,
) -> DecodeResult:
    """Decode one Kafka record value (one event or ``{"events": [...]}``). Total: never raises.

    ``now`` is the caller's clock (aware); events older than ``now - max_lateness`` or newer than
    ``now + max_future`` are refused. The keyword limits override the matching ``limits`` field.
    """
    try:
        if max_lateness is not None or max_future is not None or max_record_bytes is not None:
            limits = DecodeLimits(
                max_lateness=limits.max_lateness if max_lateness is None else max_lateness,
                max_future=limits.max_future if max_future is None else max_future,
                max_record_bytes=limits.max_record_bytes if max_record_bytes is None else max_record_bytes,
                max_events=limits.max_events,
            )
        return _decode(raw, now, limits)
    except Exception as exc:  # a decoder bug must not crash the worker or lose the record
        return DecodeResult(rejections=[Rejection(RejectReason.WRONG_TYPE, f"unexpected: {exc!r}", raw, 0)])


def _decode(raw: bytes, now: datetime, limits: DecodeLimits) -> DecodeResult:
    if len(raw) > limits.max_record_bytes:
        detail = f"record of {len(raw)} bytes exceeds {limits.max_record_bytes}"
        return _whole(RejectReason.OVERSIZED_RECORD, detail, raw[:OVERSIZED_KEEP], truncated=True)
    window = (epoch_ms(now - limits.max_lateness), epoch_ms(now + limits.max_future))
    is_batch = b'"events"' in raw
    try:  # fast path: structure and types all valid
        wire = _batch_decoder.decode(raw).events if is_batch else [_event_decoder.decode(raw)]
    except (msgspec.ValidationError, msgspec.DecodeError):
        return _slow(raw, window, limits)
    if is_batch and not wire:
        return _whole(RejectReason.EMPTY_BATCH, "the batch holds no events", raw)
    if len(wire) > limits.max_events:
        return _whole(RejectReason.TOO_MANY_EVENTS, f"{len(wire)} events exceed {limits.max_events}", raw)
    out = DecodeResult()
    seen: set[tuple[str, str]] = set()
    originals: list[Any] | None = None
    for i, ev in enumerate(wire):
        ev_raw = raw if not is_batch else None
        problem = _value_problem(ev, window)
        if is_batch and problem is not None:
            # Rare: fetch this event's own JSON for its dead letter (decoded once per record).
            if originals is None:
                originals = _any_decoder.decode(raw)["events"]
            ev_raw = _encoder.encode(originals[i])
        _admit(ev, i, out, seen, ev_raw, problem)
    return out


def _slow(raw: bytes, window: tuple[int, int], limits: DecodeLimits) -> DecodeResult:
    try:
        doc = _any_decoder.decode(raw)
    except msgspec.DecodeError as exc:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as uexc:
            return _whole(RejectReason.INVALID_UTF8, f"not UTF-8: {uexc}", raw)
        return _whole(RejectReason.NOT_JSON, f"not JSON: {exc}", raw)
    if isinstance(doc, dict) and "events" in doc:
        items = doc["events"]
        if not isinstance(items, list):
            return _whole(RejectReason.WRONG_TYPE, "'events' must be an array of event objects", raw)
        if not items:
            return _whole(RejectReason.EMPTY_BATCH, "the batch holds no events", raw)
        if len(items) > limits.max_events:
            return _whole(RejectReason.TOO_MANY_EVENTS, f"{len(items)} events exceed {limits.max_events}", raw)
    elif isinstance(doc, dict):
        items = [doc]
    else:
        return _whole(RejectReason.NOT_AN_OBJECT, f"expected an event object or a batch, got {_kind(doc)}", raw)
    out = DecodeResult()
    seen: set[tuple[str, str]] = set()
    for i, item in enumerate(items):
        ev_raw = raw if len(items) == 1 and not isinstance(doc.get("events"), list) else _encoder.encode(item)
        if not isinstance(item, dict):
            out.rejections.append(
                Rejection(RejectReason.NOT_AN_OBJECT, f"expected an event object, got {_kind(item)}", ev_raw, i)
            )
            continue
        try:
            # Decimals were re-encoded as strings: the typed decoder reads them back exactly.
            ev = _event_decoder.decode(_encoder.encode(item))
        except msgspec.ValidationError as exc:
            eid = item.get("event_id")
            reason, detail = _classify(str(exc))
            out.rejections.append(Rejection(reason, detail, ev_raw, i, eid if isinstance(eid, str) else None))
            continue
        _check(ev, i, window, out, seen, ev_raw)
    return out


def _check(
    ev: WireEvent, i: int, window: tuple[int, int], out: DecodeResult, seen: set[tuple[str, str]], ev_raw: bytes | None
) -> None:
    """Value rules the types cannot say; appends the event to accepted or rejections."""
    _admit(ev, i, out, seen, ev_raw, _value_problem(ev, window))


def _admit(
    ev: WireEvent,
    i: int,
    out: DecodeResult,
    seen: set[tuple[str, str]],
    ev_raw: bytes | None,
    problem: tuple[RejectReason, str] | None,
) -> None:
    """Appends the event to accepted, or to rejections with ``problem`` (its ``_value_problem``)."""
    if problem is not None:
        reason, detail = problem
        out.rejections.append(Rejection(reason, detail, ev_raw or _encoder.encode(ev), i, ev.event_id))
        return
    key = (ev.source, ev.event_id)  # the dedupe key (docs/events.md)
    if key in seen:
        out.duplicates += 1
        return
    seen.add(key)
    ts = ev.timestamp
    ts_ms = ts if isinstance(ts, int) else epoch_ms(ts)
    out.accepted.append(
        AcceptedEvent(
            ev.event_id,
            ts_ms,
            ev.user_id,
            ev.org_id,
            ev.metric,
            ev.quantity,
            ev.source,
            ev.properties,
            ev.org_id or ev.user_id,
        )
    )


def _value_problem(ev: WireEvent, window: tuple[int, int]) -> tuple[RejectReason, str] | None:
    # Ids first (schemas/ids.py), inline: account ids and sources seen valid are remembered (the common case
    # is three set lookups); an event id is checked with C string methods.
    eid, org = ev.event_id, ev.org_id
    if not (eid.isascii() and eid.isprintable() and " " not in eid):
        return RejectReason.INVALID_EVENT_ID, "event_id must be 1-128 printable ASCII characters without space"
    if not (ev.user_id in KNOWN_IDS and ev.source in KNOWN_SOURCES and (org is None or org in KNOWN_IDS)):
        if not valid_id(ev.user_id) or (org is not None and not valid_id(org)):
            field = "user_id" if not valid_id(ev.user_id) else "org_id"
            return RejectReason.INVALID_ID, f"{field} must match {ID_PATTERN} (docs/events.md)"
        if not valid_source(ev.source):
            return RejectReason.INVALID_ID, f"source must match {SOURCE_PATTERN} (docs/events.md)"
    q = ev.quantity
    # One cheap test for the common case; the precise reason only for the rare bad value.
    if not (q.is_finite() and _ZERO <= q <= MAX_QUANTITY):
        if not q.is_finite():
            return RejectReason.INVALID_QUANTITY, f"quantity {q} is not a finite number"
        if q < 0:
            return RejectReason.NEGATIVE_QUANTITY, f"quantity {q} is negative"
        return RejectReason.INVALID_QUANTITY, f"quantity {q} exceeds {MAX_QUANTITY}"
    if q != q.to_integral_value():
        exp = q.as_tuple().exponent
        if isinstance(exp, int) and exp < -QUANTITY_SCALE and q != q.quantize(_SCALE):
            return RejectReason.INVALID_QUANTITY, f"quantity {q} has more than {QUANTITY_SCALE} decimal places"
    ts = ev.timestamp
    if isinstance(ts, datetime):
        if ts.tzinfo is None:
            return RejectReason.INVALID_TIMESTAMP, "timestamp needs a UTC offset (e.g. 'Z' or '+02:00')"
        ts_ms = epoch_ms(ts)
    else:
        if not _MIN_MS <= ts <= _MAX_MS:
            return RejectReason.INVALID_TIMESTAMP, f"epoch milliseconds {ts} outside years 2000-2200"
        ts_ms = ts
    if ts_ms > window[1]:
        return RejectReason.FUTURE_TIMESTAMP, "timestamp is more than the allowed skew in the future"
    if ts_ms < window[0]:
        return RejectReason.TOO_LATE, "timestamp is older than the allowed lateness"
    return None


def _classify(message: str) -> tuple[RejectReason, str]:
    """Map a msgspec validation message to a reason code (the message stays as the detail)."""
    m = _PATH.search(message)
    path = m.group("path") if m else ""
    if "missing required field" in message:
        return RejectReason.MISSING_FIELD, message
    if path.startswith(".properties"):
        return RejectReason.INVALID_PROPERTIES, message
    if path == ".metric":
        if "Invalid enum value" in message:
            return RejectReason.UNKNOWN_METRIC, message
        return RejectReason.WRONG_TYPE, message
    if path == ".event_id":
        return RejectReason.INVALID_EVENT_ID, message
    if path in (".user_id", ".org_id", ".source") and ("matching regex" in message or "of length" in message):
        return RejectReason.INVALID_ID, message
    if path == ".timestamp":
        return RejectReason.INVALID_TIMESTAMP, message
    if path == ".quantity":
        return RejectReason.INVALID_QUANTITY, message
    return RejectReason.WRONG_TYPE, message


def _whole(reason: RejectReason, detail: str, raw: bytes, truncated: bool = False) -> DecodeResult:
    return DecodeResult(rejections=[Rejection(reason, detail, raw, 0, None, truncated)])


def _kind(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number" if isinstance(value, int | float | Decimal) else type(value).__name__
    )
