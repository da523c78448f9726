"""ClickHouse time text: one formatter for datetimes and epoch milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from sinks.clickhouse.timefmt import ch_datetime, ch_datetime_ms
from sinks.errors import SinkRejected


def test_epoch_ms_and_datetime_give_the_same_text() -> None:
    assert ch_datetime_ms(0) == "1970-01-01 00:00:00.000"
    assert ch_datetime_ms(1_700_000_000_999) == "2023-11-14 22:13:20.999"
    at = datetime(2026, 11, 1, 23, 59, 59, 999_999, tzinfo=timezone(timedelta(hours=2)))
    assert ch_datetime(at) == "2026-11-01 21:59:59.999"  # to UTC, milliseconds truncated
    assert ch_datetime_ms(int(at.astimezone(UTC).timestamp() * 1000)) == ch_datetime(at)


def test_naive_datetime_refused() -> None:
    with pytest.raises(SinkRejected):
        ch_datetime(datetime(2026, 11, 1))
