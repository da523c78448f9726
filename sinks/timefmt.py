"""How aware UTC datetimes and epoch milliseconds are written for ClickHouse ``DateTime64(3, 'UTC')``."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

from sinks.errors import SinkRejected


@lru_cache(maxsize=65_536)  # settlement writes the same hours over and over
def ch_datetime(dt: datetime) -> str:
    """``YYYY-MM-DD hh:mm:ss.fff`` in UTC; a naive datetime is refused rather than guessed."""
    if dt.tzinfo is None:
        raise SinkRejected(f"naive datetime {dt!r} refused: pass an aware UTC datetime")
    u = dt.astimezone(UTC)
    return f"{u:%Y-%m-%d %H:%M:%S}.{u.microsecond // 1000:03d}"


def ch_epoch_ms(ms: int) -> str:
    """Epoch milliseconds as ClickHouse's decimal seconds text (``1700000000.123``), exact, no float."""
    sec, milli = divmod(ms, 1000)
    return f"{sec}.{milli:03d}"
