"""The decoder: every bad-input class ends with its reason, good neighbours survive, nothing raises."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.decode import DecodeLimits, decode_record
from schemas.events import UsageEvent, epoch_ms
from schemas.reasons import RejectReason as R

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
LIMITS = DecodeLimits(max_lateness=timedelta(days=35), max_future=timedelta(minutes=5), max_record_bytes=64 * 1024)


def ev(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event_id": "evt-1",
        "timestamp": "2026-11-24T11:59:00Z",
        "user_id": "u-1",
        "org_id": "org-1",
        "metric": "api_calls",
        "quantity": 1,
        "properties": {"module": "chat"},
        "source": "gateway",
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not _DROP}


_DROP = object()


def decode(doc: Any) -> Any:
    raw = doc if isinstance(doc, bytes) else orjson.dumps(doc, option=orjson.OPT_PASSTHROUGH_DATACLASS)
    return decode_record(raw, now=NOW, limits=LIMITS)


def only_reason(doc: Any) -> R:
    res = decode(doc)
    assert not res.accepted, res.accepted
    assert len(res.rejections) == 1, res.rejections
    return res.rejections[0].reason


# --- good events ------------------------------------------------------------------------------

EXAMPLES = {
    "api_calls": ev(metric="api_calls", quantity=3, properties={"endpoint": "/v1/search"}),
    "ai_requests": ev(
        metric="ai_requests",
        properties={"provider": "anthropic", "model": "claude-sonnet", "input_tokens": 1200, "output_tokens": 340},
    ),
    "storage_gb": ev(metric="storage_gb", quantity="12.75", properties={"module": "drive"}),
    "premium_feature": ev(metric="premium_feature", properties={"feature": "deep_research"}),
    "active_user": ev(metric="active_user", org_id=None),
}


@pytest.mark.parametrize("metric", sorted(EXAMPLES))
def test_every_metric_is_accepted(metric: str) -> None:
    res = decode(EXAMPLES[metric])
    assert not res.rejections
    [a] = res.accepted
    assert a.metric == metric
    assert a.account_id == (EXAMPLES[metric]["org_id"] or "u-1")


def test_quantity_is_exact_decimal_from_number_or_string() -> None:
    raw = (
        b'{"events":['
        + b",".join(
            orjson.dumps(ev(event_id=f"e{i}", quantity=q))
            for i, q in enumerate([0.1, "0.1", 1e-9, "123456789.123456789"])
        )
        + b"]}"
    )
    res = decode_record(raw, now=NOW, limits=LIMITS)
    assert [a.quantity for a in res.accepted] == [
        Decimal("0.1"),
        Decimal("0.1"),
        Decimal("1e-9"),
        Decimal("123456789.123456789"),
    ]


@pytest.mark.parametrize(
    "ts",
    ["2026-11-24T13:59:00+02:00", "2026-11-24T11:59:00Z", "2026-11-24T06:59:00-05:00", 1795521540000],
)
def test_timestamps_with_offsets_or_epoch_ms_become_utc(ts: Any) -> None:
    [a] = decode(ev(timestamp=ts)).accepted
    assert a.ts_ms == epoch_ms(datetime(2026, 11, 24, 11, 59, tzinfo=UTC))
    assert a.timestamp == datetime(2026, 11, 24, 11, 59, tzinfo=UTC)


# --- bad input, one class at a time -------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"this is not json", R.NOT_JSON),
        (b'{"event_id": "x", ', R.NOT_JSON),
        (b"\xff\xfe\x00garbage", R.INVALID_UTF8),
        (b'["api_calls", 1]', R.NOT_AN_OBJECT),
        (b'"just a string"', R.NOT_AN_OBJECT),
        (b"null", R.NOT_AN_OBJECT),
        (b'{"events": []}', R.EMPTY_BATCH),
        (b'{"events": {"a": 1}}', R.WRONG_TYPE),
        (b"x" * (64 * 1024 + 1), R.OVERSIZED_RECORD),
    ],
)
def test_unreadable_records(raw: bytes, reason: R) -> None:
    res = decode_record(raw, now=NOW, limits=LIMITS)
    assert [r.reason for r in res.rejections] == [reason]
    assert res.rejections[0].raw == raw[: 64 * 1024]


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        (ev(event_id=_DROP), R.MISSING_FIELD),
        (ev(user_id=_DROP), R.MISSING_FIELD),
        (ev(metric=_DROP), R.MISSING_FIELD),
        (ev(quantity=_DROP), R.MISSING_FIELD),
        (ev(timestamp=_DROP), R.MISSING_FIELD),
        (ev(source=_DROP), R.MISSING_FIELD),
        (ev(user_id=42), R.WRONG_TYPE),
        (ev(org_id=["a"]), R.WRONG_TYPE),
        (ev(source=None), R.WRONG_TYPE),
        (ev(metric=7), R.WRONG_TYPE),
        (ev(metric="tokens"), R.UNKNOWN_METRIC),
        (ev(quantity=-1), R.NEGATIVE_QUANTITY),
        (ev(quantity="-0.5"), R.NEGATIVE_QUANTITY),
        (ev(quantity="NaN"), R.INVALID_QUANTITY),
        (ev(quantity="Infinity"), R.INVALID_QUANTITY),
        (ev(quantity="1e400"), R.INVALID_QUANTITY),
        (ev(quantity=10**13), R.INVALID_QUANTITY),
        (ev(quantity="0.0000000001"), R.INVALID_QUANTITY),
        (ev(quantity="lots"), R.INVALID_QUANTITY),
        (ev(quantity=True), R.INVALID_QUANTITY),
        (ev(timestamp="yesterday"), R.INVALID_TIMESTAMP),
        (ev(timestamp="2026-11-24T11:59:00"), R.INVALID_TIMESTAMP),  # no offset
        (ev(timestamp=1795521540), R.INVALID_TIMESTAMP),  # seconds, not milliseconds
        (ev(timestamp="2026-11-24T12:06:00Z"), R.FUTURE_TIMESTAMP),
        (ev(timestamp="2026-10-01T00:00:00Z"), R.TOO_LATE),
        (ev(properties={"nested": {"a": 1}}), R.INVALID_PROPERTIES),
        (ev(properties={"list": [1, 2]}), R.INVALID_PROPERTIES),
        (ev(properties={f"k{i}": i for i in range(65)}), R.INVALID_PROPERTIES),
        (ev(properties={"k" * 65: 1}), R.INVALID_PROPERTIES),
        (ev(properties={"big": "x" * 1025}), R.INVALID_PROPERTIES),
        (ev(properties="flat"), R.INVALID_PROPERTIES),
        (ev(event_id=""), R.INVALID_EVENT_ID),
        (ev(event_id="e" * 129), R.INVALID_EVENT_ID),
    ],
)
def test_bad_event_classes(doc: dict[str, Any], reason: R) -> None:
    assert only_reason(doc) == reason
    # Inside a batch too, and its good neighbour is kept.
    res = decode({"events": [doc, ev(event_id="good")]})
    assert [r.reason for r in res.rejections] == [reason]
    assert [a.event_id for a in res.accepted] == ["good"]
    assert res.rejections[0].index == 0


def test_array_where_an_event_belongs_in_a_batch() -> None:
    res = decode({"events": [ev(event_id="a"), [1, 2], "x", ev(event_id="b")]})
    assert [(r.index, r.reason) for r in res.rejections] == [(1, R.NOT_AN_OBJECT), (2, R.NOT_AN_OBJECT)]
    assert [a.event_id for a in res.accepted] == ["a", "b"]


def test_duplicate_event_id_in_one_batch_is_counted_once() -> None:
    res = decode({"events": [ev(event_id="a"), ev(event_id="b"), ev(event_id="a", quantity=5)]})
    assert [a.event_id for a in res.accepted] == ["a", "b"]
    assert res.accepted[0].quantity == 1  # the first wins
    assert res.duplicates == 1 and not res.rejections
    assert res.total == 3


def test_too_many_events_in_one_record() -> None:
    limits = DecodeLimits(max_events=3, max_record_bytes=10**6)
    raw = orjson.dumps({"events": [ev(event_id=f"e{i}") for i in range(4)]})
    res = decode_record(raw, now=NOW, limits=limits)
    assert [r.reason for r in res.rejections] == [R.TOO_MANY_EVENTS]


def test_rejection_keeps_the_events_own_bytes() -> None:
    bad = ev(event_id="bad", metric="nope")
    res = decode({"events": [ev(), bad]})
    assert msgspec.json.decode(res.rejections[0].raw) == bad
    assert res.rejections[0].event_id == "bad"


# --- the decoder is total -----------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
field_values = st.fixed_dictionaries(
    {},
    optional={
        "event_id": st.text(max_size=130) | json_values,
        "timestamp": st.sampled_from(["2026-11-24T11:00:00Z", "2026-11-24T11:00:00", "x"])
        | st.integers()
        | json_values,
        "user_id": st.text(max_size=5) | json_values,
        "org_id": st.none() | st.text(max_size=5),
        "metric": st.sampled_from(["api_calls", "storage_gb", "bogus"]) | json_values,
        "quantity": st.integers(-5, 10**14) | st.decimals(allow_nan=True).map(str) | json_values,
        "properties": st.dictionaries(st.text(max_size=70), json_values, max_size=5) | json_values,
        "source": st.text(max_size=5) | json_values,
    },
)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    res = decode_record(raw, now=NOW, limits=LIMITS)
    assert res.accepted or res.rejections or res.duplicates
    assert all(r.reason in R for r in res.rejections)


@settings(max_examples=400, deadline=None)
@given(st.lists(field_values | json_values, min_size=1, max_size=6))
def test_every_event_of_a_batch_is_accounted_for(items: list[Any]) -> None:
    raw = msgspec.json.encode({"events": items})
    res = decode_record(raw, now=NOW, limits=LIMITS)
    if len(res.rejections) == 1 and res.rejections[0].reason in (R.OVERSIZED_RECORD,):
        return
    assert res.total == len(items)
    for a in res.accepted:
        # What the fast decoder accepts, the public contract (pydantic) accepts too.
        UsageEvent.model_validate(
            {
                "event_id": a.event_id,
                "timestamp": a.ts_ms,
                "user_id": a.user_id,
                "org_id": a.org_id,
                "metric": a.metric,
                "quantity": a.quantity,
                "properties": a.properties,
                "source": a.source,
            }
        )


@settings(max_examples=300, deadline=None)
@given(json_values | field_values)
def test_arbitrary_json_documents_never_raise(doc: Any) -> None:
    res = decode_record(msgspec.json.encode(doc), now=NOW, limits=LIMITS)
    assert res.total >= 1
    assert all(r.reason in R and r.detail for r in res.rejections)


# --- the decoder's surface ----------------------------------------------------------------------


def test_lateness_and_skew_can_be_given_as_keywords() -> None:
    raw = orjson.dumps(ev(timestamp="2026-11-24T10:00:00Z"))
    assert decode_record(raw, now=NOW, max_lateness=timedelta(hours=3)).accepted
    late = decode_record(raw, now=NOW, max_lateness=timedelta(hours=1))
    assert [r.reason for r in late.rejections] == [R.TOO_LATE]
    soon = orjson.dumps(ev(timestamp="2026-11-24T12:01:00Z"))
    assert [r.reason for r in decode_record(soon, now=NOW, max_future=timedelta(0)).rejections] == [R.FUTURE_TIMESTAMP]
    assert [r.reason for r in decode_record(raw, now=NOW, max_record_bytes=10).rejections] == [R.OVERSIZED_RECORD]


def test_fast_and_slow_paths_type_properties_alike() -> None:
    props = {"ratio": 1.5, "tokens": 12, "ok": True, "none": None, "model": "m"}
    alone = decode(ev(properties=props)).accepted[0]
    # A bad neighbour sends the batch down the slow path; the good event must come out the same.
    mixed = decode({"events": [ev(properties=props), {"no": "event"}]}).accepted[0]
    assert alone == mixed
    assert alone.properties == props


def test_accepted_event_is_immutable_and_carries_utc_time_and_account() -> None:
    [a] = decode(ev(timestamp="2026-11-24T13:59:00.250+02:00", org_id=None)).accepted
    assert a.timestamp == datetime(2026, 11, 24, 11, 59, 0, 250_000, tzinfo=UTC)
    assert a.ts_ms == epoch_ms(a.timestamp)
    assert a.account_id == "u-1"
    with pytest.raises(AttributeError):
        a.quantity = Decimal(2)  # type: ignore[misc]


def test_single_bad_event_keeps_the_original_bytes() -> None:
    raw = b'{"event_id":"x", "metric":"nope"  }'
    [r] = decode_record(raw, now=NOW, limits=LIMITS).rejections
    assert r.raw == raw and r.index == 0
