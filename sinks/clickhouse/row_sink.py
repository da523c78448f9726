"""The ClickHouse row sink: batched inserts of newline-delimited JSON, retried with backoff.

Rows travel as ``JSONEachRow`` so ClickHouse (server or chDB) parses them in C++; Python only
joins bytes. Raw events are deduplicated by ClickHouse itself (ReplacingMergeTree on the event id),
so re-sending a batch after a crash or a retry changes no query result (docs/architecture.md §8).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol

from sinks.errors import SinkError, SinkRejected, SinkUnavailable
from sinks.retry import Retry, RetryPolicy, call_with_retries_async

log = logging.getLogger(__name__)


class RawInsertClient(Protocol):
    """The part of a clickhouse-connect client this sink uses (HTTP server or embedded chDB)."""

    def raw_insert(
        self,
        table: str,
        column_names: Sequence[str] | None = None,
        insert_block: bytes | Iterable[bytes] | None = None,
        settings: dict[str, Any] | None = None,
        fmt: str | None = None,
        compression: str | None = None,
    ) -> Any: ...


def classify(exc: Exception) -> SinkError:
    """Map a driver error to a retriable or a final sink error, keeping the message."""
    if isinstance(exc, SinkError):
        return exc
    text = str(exc)
    # Connection problems and server overload are worth retrying; a bad statement is not.
    retriable_markers = (
        "Connection",
        "connection",
        "Timeout",
        "timed out",
        "refused",
        "TOO_MANY_SIMULTANEOUS_QUERIES",
        "MEMORY_LIMIT_EXCEEDED",
        "Cannot lock file",
        "NETWORK_ERROR",
        "SOCKET_TIMEOUT",
        "503",
        "502",
    )
    if isinstance(exc, OSError | TimeoutError) or any(m in text for m in retriable_markers):
        return SinkUnavailable(text)
    return SinkRejected(text)


#: Bytes of rows joined per chunk of an insert body: big enough that per-chunk costs vanish, small
#: enough that the chunk is no second copy of the batch.
BODY_CHUNK_BYTES = 1 << 20


def _line(row: bytes) -> bytes:
    # Rows may be single objects or whole JSON-lines records: end each with exactly one newline.
    return row if row.endswith(b"\n") else row + b"\n"


def body_chunks(rows: Sequence[bytes], chunk_bytes: int = BODY_CHUNK_BYTES) -> Iterator[bytes]:
    """The JSONEachRow body of ``rows`` as chunks of about ``chunk_bytes`` (never splitting a row)."""
    pending: list[bytes] = []
    size = 0
    for row in rows:
        pending.append(_line(row))
        size += len(row) + 1
        if size >= chunk_bytes:
            yield b"".join(pending)
            pending, size = [], 0
    if pending:
        yield b"".join(pending)


def count_rows(rows: Sequence[bytes]) -> int:
    """Rows in the body of ``rows``: a record may carry many newline-separated rows."""
    return sum(r.count(b"\n") + (not r.endswith(b"\n")) for r in rows)


class RowSink:
    """Writes NDJSON row batches to one table; blocking driver calls run in a worker thread."""

    def __init__(
        self,
        client: RawInsertClient,
        table: str,
        *,
        policy: RetryPolicy | None = None,
        on_write: Callable[[str, int, float], None] | None = None,
        on_error: Callable[[str, SinkError], None] | None = None,
        insert_settings: dict[str, Any] | None = None,
    ) -> None:
        self._client = client
        self._settings = insert_settings
        self._table = table
        self._policy = policy or RetryPolicy()
        self._on_write = on_write
        self._on_error = on_error
        self._rng = random.Random()
        self._lock = asyncio.Lock()

    @property
    def table(self) -> str:
        return self._table

    def write_now(self, rows: Sequence[bytes]) -> None:
        """One attempt, blocking: insert ``rows`` (JSON objects, one or more lines each) or raise a SinkError."""
        if not rows:
            return
        started = time.perf_counter()
        try:
            # One INSERT, its body streamed in chunks: a batch of 400 records is ~70 MB, and joining
            # it into one bytes object held a second copy of the batch for the whole insert.
            self._client.raw_insert(
                self._table, None, insert_block=body_chunks(rows), settings=self._settings, fmt="JSONEachRow"
            )
        except Exception as exc:
            raise classify(exc) from exc
        if self._on_write:
            # A record may carry many newline-separated rows: count rows, not records.
            self._on_write(self._table, count_rows(rows), time.perf_counter() - started)

    async def write(self, rows: Sequence[bytes], should_stop: Callable[[], bool] = lambda: False) -> None:
        """Insert ``rows``, retrying retriable failures with backoff until written or stopped.

        A ClickHouse outage therefore pauses the caller (and so the consumption feeding it) rather
        than dropping rows; the caller's offsets are committed only after this returns.
        """

        def on_retry(err: SinkError, attempt: int, wait: float) -> None:
            log.warning("insert into %s failed (%s); retry %d in %.1fs", self._table, err, attempt, wait)

        retry = Retry(SinkError, lambda err: err.retriable and not should_stop(), self._policy, self._rng, on_retry)

        async def attempt() -> None:
            try:
                await asyncio.to_thread(self.write_now, rows)
            except SinkError as err:
                if self._on_error:
                    self._on_error(self._table, err)
                raise

        async with self._lock:  # one insert at a time per table keeps chDB and the server happy
            await call_with_retries_async(attempt, retry)
