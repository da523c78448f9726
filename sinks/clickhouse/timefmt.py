"""How aware UTC datetimes and epoch milliseconds are written for ClickHouse ``DateTime64(3, 'UTC')``."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from sinks.errors import SinkRejected


@lru_cache(maxsize=65_536)  # settlement writes the same hours over and over
def ch_datetime(dt: datetime) -> str:
    """``YYYY-MM-DD hh:mm:ss.fff`` in UTC; a naive datetime is refused rather than guessed."""
    if dt.tzinfo is None:
        raise SinkRejected(f"naive datetime {dt!r} refused: pass an aware UTC datetime")
    u = dt.astimezone(UTC)
    return f"{u:%Y-%m-%d %H:%M:%S}.{u.microsecond // 1000:03d}"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ch_datetime_ms(ms: int) -> str:
    """``ch_datetime`` of epoch milliseconds, exact (no float on the way)."""
    return ch_datetime(_EPOCH + timedelta(milliseconds=ms))


def ch_literal(text: str) -> str:
    """A ClickHouse string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def ch_datetime64(at: datetime) -> str:
    """A ``DateTime64(3, 'UTC')`` SQL expression for an aware datetime."""
    return f"toDateTime64({ch_literal(ch_datetime(at))}, 3, 'UTC')"


@lru_cache(maxsize=65_536)  # the same hours come back in every row
def from_ch(v: object) -> datetime:
    """A Date/DateTime read back from ClickHouse (naive in UTC, or aware) as aware UTC."""
    if isinstance(v, datetime):
        return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)
    if isinstance(v, date):
        return datetime(v.year, v.month, v.day, tzinfo=UTC)
    raise SinkRejected(f"expected a date or datetime from ClickHouse, got {v!r}")
