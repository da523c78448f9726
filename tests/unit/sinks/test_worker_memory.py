"""Memory bounds of a worker: streamed insert bodies, bounded chDB caches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sinks.clickhouse.client import EMBEDDED_SERVER_SETTINGS, connect
from sinks.clickhouse.row_sink import RowSink, body_chunks, count_rows


class RecordingClient:
    """Keeps each insert's body as the driver would read it (chunk by chunk)."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.chunks: list[int] = []

    def raw_insert(self, table: str, column_names: Any = None, insert_block: Any = None, **kw: Any) -> Any:
        parts = [insert_block] if isinstance(insert_block, bytes) else list(insert_block)
        self.chunks.append(len(parts))
        self.bodies.append(b"".join(parts))


def test_body_is_the_rows_each_ending_in_one_newline() -> None:
    rows = [b'{"a":1}', b'{"a":2}\n', b'{"a":3}\n{"a":4}', b'{"a":5}\n{"a":6}\n']
    assert b"".join(body_chunks(rows)) == b"".join(r if r.endswith(b"\n") else r + b"\n" for r in rows)
    assert count_rows(rows) == 6


def test_chunks_are_bounded_and_never_split_a_row() -> None:
    rows = [b'{"n":%d}' % i for i in range(1000)]
    chunks = list(body_chunks(rows, chunk_bytes=100))
    assert len(chunks) > 50
    assert all(len(c) < 100 + 16 and c.endswith(b"\n") for c in chunks)
    assert b"".join(chunks).split(b"\n")[:-1] == rows


def test_sink_inserts_one_streamed_body_and_counts_rows() -> None:
    client = RecordingClient()
    written: list[tuple[str, int]] = []
    sink = RowSink(client, "db.t", on_write=lambda t, n, _s: written.append((t, n)))
    big = [b'{"k":"%s"}' % (b"x" * 1000) for _ in range(3000)]  # ~3 MB: several chunks
    sink.write_now(big)
    sink.write_now([])
    assert len(client.bodies) == 1 and client.chunks[0] > 1
    assert client.bodies[0] == b"\n".join(big) + b"\n"
    assert written == [("db.t", 3000)]


def test_embedded_chdb_caches_are_bounded(tmp_path: Path) -> None:
    client = connect(f"chdb://{tmp_path / 'ch'}")
    try:
        names = ", ".join(f"'{n}'" for n in EMBEDDED_SERVER_SETTINGS)
        got = dict(client.query(f"SELECT name, value FROM system.server_settings WHERE name IN ({names})").result_rows)
        assert {k: int(v) for k, v in got.items()} == EMBEDDED_SERVER_SETTINGS
    finally:
        client.close()
