"""The usage-event contract of docs/architecture.md §3: the public pydantic model and its hot-path twins.

``UsageEvent`` (pydantic) is the documented contract: the SDK validates with it and
``meterline schema export`` publishes its JSON Schema. ``WireEvent`` (msgspec) decodes the same
JSON about ten times faster on the ingest path (docs/architecture.md §9); a test holds the two in agreement.
``AcceptedEvent`` is what the pipeline carries after validation: UTC epoch milliseconds, an exact
``Decimal`` quantity, and the routing account.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args

import msgspec
from pydantic import BaseModel, ConfigDict, Field, field_validator

from schemas.ids import EVENT_ID_PATTERN, ID_PATTERN, MAX_ID, MAX_SOURCE, SOURCE_PATTERN

#: Largest quantity one event may carry; larger is treated as a producer bug, not usage.
MAX_QUANTITY = Decimal(10) ** 12
#: Decimal places kept (ClickHouse ``Decimal(38, 9)``).
QUANTITY_SCALE = 9
MAX_PROPERTIES = 64
MAX_PROPERTY_KEY = 64
MAX_PROPERTY_VALUE = 1024
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Metric(enum.StrEnum):
    """The metrics Meterline meters (docs/architecture.md §3)."""

    API_CALLS = "api_calls"
    AI_REQUESTS = "ai_requests"
    STORAGE_GB = "storage_gb"  # a gauge: GB held now
    PREMIUM_FEATURE = "premium_feature"
    ACTIVE_USER = "active_user"


Scalar = str | int | float | bool | None
# The id patterns (schemas/ids.py) are checked after decoding (schemas/decode.py), faster than msgspec would.
_Id = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ID)]
_Source = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_SOURCE)]
_PropKey = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_PROPERTY_KEY)]
_PropValue = Annotated[str, msgspec.Meta(max_length=MAX_PROPERTY_VALUE)] | int | float | bool | None
_Props = Annotated[dict[_PropKey, _PropValue], msgspec.Meta(max_length=MAX_PROPERTIES)]


#: The metric names as plain strings for the hot path (an enum member costs a lookup per event).
MetricName = Literal["api_calls", "ai_requests", "storage_gb", "premium_feature", "active_user"]


class WireEvent(msgspec.Struct):
    """One event as it arrives, typed for msgspec's C decoder (structure and types only)."""

    event_id: _Id
    timestamp: datetime | int
    user_id: _Id
    metric: MetricName
    quantity: Decimal
    source: _Source
    org_id: _Id | None = None
    properties: _Props = msgspec.field(default_factory=dict)


class WireBatch(msgspec.Struct):
    """The batch envelope: one Kafka record carrying many events."""

    events: list[WireEvent]


class AcceptedEvent(msgspec.Struct, frozen=True, gc=False):
    """A validated event: UTC epoch milliseconds, exact quantity, properties as given."""

    event_id: str
    ts_ms: int
    user_id: str
    org_id: str | None
    metric: str
    quantity: Decimal
    source: str
    properties: dict[str, Any]
    #: The routing account (docs/architecture.md §3 record key): the organization if any, else the user.
    account_id: str

    @property
    def timestamp(self) -> datetime:
        return from_epoch_ms(self.ts_ms)


class UsageEvent(BaseModel):
    """One usage event (docs/architecture.md §3). JSON numbers and decimal strings are both accepted for quantity."""

    model_config = ConfigDict(extra="ignore", frozen=True, title="UsageEvent")

    event_id: str = Field(
        min_length=1,
        max_length=MAX_ID,
        pattern=EVENT_ID_PATTERN,
        description="Unique per logical event; the dedupe key. Printable ASCII, no space.",
    )
    timestamp: datetime = Field(
        description="Event time: RFC 3339 with an offset, or epoch milliseconds; normalised to UTC."
    )
    user_id: str = Field(min_length=1, max_length=MAX_ID, pattern=ID_PATTERN, description="Who acted.")
    org_id: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_ID,
        pattern=ID_PATTERN,
        description="Organization the user acted in, if any.",
    )
    metric: Metric
    quantity: Decimal = Field(
        ge=0,
        le=MAX_QUANTITY,
        decimal_places=QUANTITY_SCALE,
        allow_inf_nan=False,
        description="storage_gb: GB held now (a gauge); other metrics: a count.",
    )
    properties: dict[
        Annotated[str, Field(min_length=1, max_length=MAX_PROPERTY_KEY)],
        Annotated[str, Field(max_length=MAX_PROPERTY_VALUE)] | int | float | bool | None,
    ] = Field(default_factory=dict, max_length=MAX_PROPERTIES, description="Flat string → scalar map.")
    source: str = Field(
        min_length=1,
        max_length=MAX_SOURCE,
        pattern=SOURCE_PATTERN,
        description="Emitting service; with event_id the dedupe key. Bound to the sending credential (docs/events.md).",
    )

    @field_validator("timestamp", mode="before")
    @classmethod
    def _parse_timestamp(cls, v: object) -> object:
        if isinstance(v, bool):
            raise ValueError("timestamp must be RFC 3339 text or epoch milliseconds")
        if isinstance(v, int):
            return from_epoch_ms(v)
        return v

    @field_validator("timestamp")
    @classmethod
    def _require_offset(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("timestamp needs a UTC offset (e.g. 'Z' or '+02:00')")
        return v.astimezone(UTC)

    @property
    def account_id(self) -> str:
        return self.org_id or self.user_id

    def wire(self) -> dict[str, Any]:
        """The JSON object to send: quantity as a decimal string, timestamp as UTC epoch milliseconds."""
        return {
            "event_id": self.event_id,
            "timestamp": epoch_ms(self.timestamp),
            "user_id": self.user_id,
            "org_id": self.org_id,
            "metric": self.metric.value,
            "quantity": format(self.quantity, "f"),
            "properties": self.properties,
            "source": self.source,
        }


def from_epoch_ms(ms: int) -> datetime:
    """Aware UTC of epoch milliseconds (ValueError when out of range)."""
    sec, milli = divmod(ms, 1000)
    try:
        return datetime.fromtimestamp(sec, tz=UTC).replace(microsecond=milli * 1000)
    except (OverflowError, OSError, ValueError) as exc:
        raise ValueError(f"epoch milliseconds {ms} out of range") from exc


def epoch_ms(dt: datetime) -> int:
    """Exact epoch milliseconds of an aware datetime (integer arithmetic, no float)."""
    delta = dt - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


assert set(get_args(MetricName)) == {m.value for m in Metric}, "MetricName and Metric must list the same metrics"
