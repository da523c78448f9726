"""The warehouse bridge: one process owns the chDB directory and serves it over ClickHouse's HTTP interface.

chDB lets only one process open a data directory. The bridge opens it once and answers the subset of
the ClickHouse HTTP protocol that clickhouse-connect speaks (queries and commands, Native/RowBinary/any
format out, ``INSERT … FORMAT X`` bodies in, settings and ``param_*`` as URL parameters, compressed or
chunked request bodies, ClickHouse-style errors), so the worker, a second worker and every CLI command
share one warehouse through ``sinks.clickhouse.client.connect`` — the same HTTP code path production uses.

chDB does the work: results come out in the requested format, and insert bodies stream into
``Connection.send_insert``. Engine calls are serialized by one lock; each distinct (database, settings)
combination keeps its own chDB connection handle, so per-request settings cost nothing after the first.
Responses are never compressed (loopback), which is valid HTTP whatever ``Accept-Encoding`` says.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import importlib
import json
import logging
import os
import re
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
import zlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as dist_version
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from deploy.local import procs
from deploy.local.component import ComponentStatus
from deploy.local.errors import StackError
from streams.settings import WAREHOUSE_INFO, bridge_port_for

log = logging.getLogger("meterline.warehouse")

# URL parameters that steer the HTTP exchange itself; every other one is a ClickHouse setting.
_TRANSPORT_PARAMS = frozenset(
    {
        "query",
        "database",
        "default_format",
        "user",
        "password",
        "quota_key",
        "query_id",
        "session_id",
        "session_timeout",
        "session_check",
        "role",
        "buffer_size",
        "wait_end_of_query",
        "client_protocol_version",
        "enable_http_compression",
        "send_progress_in_http_headers",
        "http_headers_progress_interval_ms",
        "cancel_http_readonly_queries_on_client_close",
    }
)
_SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LEADING = re.compile(rb"(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/)*", re.S)
_INSERT = re.compile(rb"INSERT\s+INTO\s", re.I)
_INSERT_KEYWORD = re.compile(rb"(?<![\w`\"'.])(FORMAT|VALUES|SELECT|WITH)(?![\w`\"'])", re.I)
_FORMAT_NAME = re.compile(rb"\s+(\w+)[ \t\f]*(?:\r?\n)?")
_TRAILING_FORMAT = re.compile(rb"(?<![\w`\"'.])FORMAT\s+(\w+)\s*;?\s*\Z", re.I)
_SESSION_STATEMENT = re.compile(rb"(?:SET|USE)\b", re.I)
_CODE = re.compile(r"Code: (\d+)")
# ClickHouse's own mapping of a few exception codes to HTTP statuses; 503 (retryable) only while stopping.
_HTTP_STATUS = {27: 400, 36: 400, 62: 400, 115: 400, 46: 404, 47: 404, 60: 404, 81: 404, 48: 501, 210: 503}
_BINARY_FORMATS = frozenset({"Native", "RowBinary", "RowBinaryWithNames", "RowBinaryWithNamesAndTypes", "Arrow"})


class BridgeError(Exception):
    """A request the bridge itself refuses, with the ClickHouse error code a server would give."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"Code: {code}. DB::Exception: {message}")


@dataclass(slots=True)
class Request:
    sql: bytes
    database: str = ""
    default_format: str = "TabSeparated"
    settings: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Result:
    body: bytes
    fmt: str | None
    summary: dict[str, str]


# -- the engine ---------------------------------------------------------------------------------
class Engine:
    """The chDB engine of one directory; one call at a time, a connection handle per settings set."""

    def __init__(self, path: Path, pool_size: int = 8) -> None:
        import chdb

        self._chdb = chdb
        self._path = str(path)
        self._lock = threading.Lock()
        self._pool_size = pool_size
        # The anchor handle holds the directory (and its lock file) for the life of the process.
        self._anchor: Any = chdb.connect(self._path)
        self._pool: OrderedDict[tuple[str, tuple[tuple[str, str], ...]], Any] = OrderedDict()
        self.version = self._anchor.query("SELECT version()", "TabSeparated").bytes().decode().strip()

    def execute(self, req: Request) -> Result:
        key = (req.database, tuple(sorted(req.settings.items(), key=lambda kv: (kv[0] == "readonly", kv[0]))))
        start = _LEADING.match(req.sql)
        pos = start.end() if start else 0
        with self._lock:
            if self._anchor is None:
                raise BridgeError(210, "Connection refused: the warehouse bridge is shutting down (NETWORK_ERROR)")
            conn = self._handle(key)
            try:
                if _INSERT.match(req.sql, pos):
                    split = _split_insert(req.sql, pos)
                    if split is not None:
                        return self._insert(conn, *split)
                result = self._query(conn, req)
            except BaseException:
                self._discard(key)  # an error may leave a handle mid-insert: start afresh
                raise
            if _SESSION_STATEMENT.match(req.sql, pos):
                self._discard(key)  # HTTP without a session: SET/USE do not outlive the request
            return result

    def _handle(self, key: tuple[str, tuple[tuple[str, str], ...]]) -> Any:
        conn = self._pool.pop(key, None)
        if conn is None:
            conn = self._chdb.connect(self._path)
            try:
                database, settings = key
                if database:
                    conn.query(f"USE {_quote_ident(database)}", "TabSeparated")
                for name, value in settings:
                    if not _SETTING_NAME.match(name):
                        raise BridgeError(115, f"Unknown setting '{name}'")
                    conn.query(f"SET {name} = {_quote_string(value)}", "TabSeparated")
            except BaseException:
                conn.close()
                raise
        self._pool[key] = conn
        while len(self._pool) > self._pool_size:
            self._pool.popitem(last=False)[1].close()
        return conn

    def _discard(self, key: tuple[str, tuple[tuple[str, str], ...]]) -> None:
        conn = self._pool.pop(key, None)
        if conn is not None:
            conn.close()

    @staticmethod
    def _insert(conn: Any, head: str, fmt: str, data: bytes) -> Result:
        with conn.send_insert(head, fmt) as inserter:
            if data:
                inserter.append(data)
            res = inserter.finish()
        summary = {"written_rows": str(res.rows_written), "written_bytes": str(res.bytes_written)}
        summary["elapsed_ns"] = str(int(res.elapsed * 1e9))
        return Result(b"", None, summary)

    @staticmethod
    def _query(conn: Any, req: Request) -> Result:
        sql: str | bytes = req.sql
        with contextlib.suppress(UnicodeDecodeError):
            sql = req.sql.decode()
        trailing = _TRAILING_FORMAT.search(req.sql)
        by_names = trailing is None and req.default_format in ("TabSeparated", "TSV")
        # A statement that yields a result set prints at least a names line: that is how a command
        # tells a SELECT with no rows (X-ClickHouse-Format set) from DDL (no result at all).
        res = conn.query(sql, "TabSeparatedWithNames" if by_names else req.default_format, params=req.params)
        body = res.bytes() or b""
        fmt = trailing.group(1).decode() if trailing else req.default_format
        if by_names:
            fmt = "TabSeparated" if body else ""
            body = body.split(b"\n", 1)[1] if b"\n" in body else b""
        summary = {
            "read_rows": str(res.rows_read()),
            "read_bytes": str(res.bytes_read()),
            "written_rows": str(res.rows_written()),
            "written_bytes": str(res.bytes_written()),
            "elapsed_ns": str(int(res.elapsed() * 1e9)),
        }
        return Result(body, fmt or None, summary)

    def close(self) -> None:
        with self._lock:
            while self._pool:
                self._pool.popitem()[1].close()
            if self._anchor is not None:
                self._anchor.close()
                self._anchor = None


def _split_insert(sql: bytes, pos: int) -> tuple[str, str, bytes] | None:
    """``INSERT INTO t [(cols)] [SETTINGS …] FORMAT X <data>`` → (statement, format, data); else None."""
    keyword = _INSERT_KEYWORD.search(sql, pos)
    if keyword is None or keyword.group(1).upper() != b"FORMAT":
        return None  # VALUES / SELECT: the engine reads the statement whole
    name = _FORMAT_NAME.match(sql, keyword.end())
    if name is None:
        return None
    # ClickHouse: the data starts after the first newline, or after the whitespace that follows the name.
    return sql[pos : keyword.start()].decode(), name.group(1).decode(), sql[name.end() :]


def _quote_ident(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def _quote_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


# -- HTTP ---------------------------------------------------------------------------------------
def parse_request(params: dict[str, str], body: bytes, content_type: str) -> Request:
    """The statement, database, settings and bind parameters of one HTTP request."""
    if content_type.lower().startswith("multipart/form-data"):
        body = _merge_form(params, body, content_type)
    for flag in ("compress", "decompress"):
        if params.pop(flag, "0") not in ("", "0"):
            raise BridgeError(48, f"{flag}=1 (ClickHouse's native compression) is not supported by the bridge")
    query = params.pop("query", "")
    # ClickHouse reads the query parameter, a newline, then the body (an INSERT's data, or the SQL itself).
    sql = (query.encode() + b"\n" if query else b"") + body
    if not sql.strip():
        raise BridgeError(62, "Empty query")
    req = Request(sql, params.get("database", ""), params.get("default_format") or "TabSeparated")
    for name, value in params.items():
        if name.startswith("param_"):
            req.params[name[len("param_") :]] = value
        elif name not in _TRANSPORT_PARAMS:
            req.settings[name] = value
    return req


def _merge_form(params: dict[str, str], body: bytes, content_type: str) -> bytes:
    """Form-encoded requests carry ``query`` and ``param_*`` as fields; external data is not supported."""
    msg = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    for part in msg.iter_parts():
        if part.get_filename() is not None:
            raise BridgeError(48, "external data (file parts) is not supported by the bridge")
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if name:
            params[str(name)] = payload.decode() if isinstance(payload, bytes) else str(payload or "")
    return b""


def decode_body(body: bytes, encoding: str) -> bytes:
    """Undo a request's Content-Encoding (clickhouse-connect compresses inserts, lz4 block by block)."""
    enc = encoding.strip().lower()
    if enc in ("", "identity", "none"):
        return body
    if enc == "gzip":
        return gzip.decompress(body)
    if enc == "deflate":
        return zlib.decompress(body)
    if enc == "zstd":
        zstd = importlib.import_module("compression.zstd" if sys.version_info >= (3, 14) else "backports.zstd")
        return bytes(zstd.decompress(body))
    if enc == "lz4":
        frame = importlib.import_module("lz4.frame")
        out, rest = bytearray(), body
        while rest:  # one LZ4 frame per insert block, concatenated
            decompressor = frame.LZ4FrameDecompressor()
            out += decompressor.decompress(rest)
            if not decompressor.eof:
                raise BridgeError(27, "truncated lz4 request body")
            rest = decompressor.unused_data
        return bytes(out)
    if enc == "br":
        return bytes(importlib.import_module("brotli").decompress(body))
    raise BridgeError(48, f"unsupported Content-Encoding {encoding!r}")


def _content_type(fmt: str | None) -> str:
    if fmt is None or fmt in _BINARY_FORMATS:
        return "application/octet-stream"
    if fmt.startswith("JSON"):
        return "application/json; charset=UTF-8"
    if fmt.startswith(("TabSeparated", "TSV")):
        return "text/tab-separated-values; charset=UTF-8"
    return "text/plain; charset=UTF-8"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    engine: Engine

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            log.debug("client %s went away: %s", client_address, exc)
        else:
            log.exception("unexpected error serving %s", client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clickhouse-connect pools its connections
    server_version = "meterline-warehouse"
    timeout = 3600  # an idle keep-alive connection's thread ends after an hour
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms delayed-ACK stall
    server: _Server

    def do_GET(self) -> None:
        self._serve(b"")

    def do_POST(self) -> None:
        try:
            body = self._read_body()
        except ValueError as exc:
            self.close_connection = True
            self._reply(400, f"Code: 27. DB::Exception: malformed request body: {exc}\n".encode(), code="27")
            return
        self._serve(body)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline(1 << 16).split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline(1 << 16) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline(3)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self, body: bytes) -> None:
        url = urlsplit(self.path)
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        if url.path.rstrip("/") == "/ping" or (url.path in ("", "/") and not params and not body):
            self._reply(200, b"Ok.\n", fmt="TabSeparated")
            return
        if url.path not in ("", "/"):
            self._reply(404, f"There is no handle {url.path}\n".encode(), code="1000")
            return
        query_id = params.get("query_id") or str(uuid.uuid4())
        started = time.perf_counter()
        try:
            body = decode_body(body, self.headers.get("Content-Encoding", ""))
            req = parse_request(params, body, self.headers.get("Content-Type", ""))
            result = self.server.engine.execute(req)
        except Exception as exc:
            text = str(exc)
            text = text[text.find("Code: ") :] if "Code: " in text else text
            match = _CODE.search(text)
            code = int(match.group(1)) if match else 1001
            log.warning("query %s failed: %s", query_id, text.splitlines()[0] if text else type(exc).__name__)
            self._reply(_HTTP_STATUS.get(code, 500), (text.rstrip() + "\n").encode(), code=str(code), query_id=query_id)
            return
        log.debug("query %s: %d bytes in %.1f ms", query_id, len(result.body), (time.perf_counter() - started) * 1e3)
        self._reply(200, result.body, fmt=result.fmt, query_id=query_id, summary=result.summary)

    def _reply(
        self,
        status: int,
        body: bytes,
        *,
        fmt: str | None = None,
        code: str | None = None,
        query_id: str | None = None,
        summary: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=UTF-8" if code else _content_type(fmt))
        self.send_header("Content-Length", str(len(body)))
        if query_id:
            self.send_header("X-ClickHouse-Query-Id", query_id)
        if fmt and not code:
            self.send_header("X-ClickHouse-Format", fmt)
        if summary is not None:
            self.send_header("X-ClickHouse-Summary", json.dumps(summary))
        if code:
            self.send_header("X-ClickHouse-Exception-Code", code)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)


def serve(chdb_path: Path, data_dir: Path, port: int) -> int:
    """Own ``chdb_path`` and serve it on 127.0.0.1:``port`` until SIGTERM/SIGINT; 2 if it cannot start."""
    chdb_path, info_file = chdb_path.resolve(), data_dir.resolve() / WAREHOUSE_INFO
    chdb_path.mkdir(parents=True, exist_ok=True)
    try:
        engine = Engine(chdb_path)
    except Exception as exc:
        print(f"warehouse: cannot open chDB at {chdb_path}: {exc} (does another process hold it?)", file=sys.stderr)
        return 2
    try:
        server = _Server(("127.0.0.1", port), _Handler)
    except OSError as exc:
        engine.close()
        print(f"warehouse: cannot listen on 127.0.0.1:{port}: {exc.strerror}", file=sys.stderr)
        return 2
    server.engine = engine
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    port = int(server.server_address[1])
    info = {"path": str(chdb_path), "pid": os.getpid(), "port": port, "url": f"http://127.0.0.1:{port}"}
    info_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = info_file.with_name(f".{info_file.name}.{os.getpid()}")
    tmp.write_text(json.dumps(info, indent=2) + "\n")
    os.replace(tmp, info_file)  # readers see the whole file or none
    log.info("serving chDB %s at %s on http://127.0.0.1:%d (pid %d)", engine.version, chdb_path, port, os.getpid())
    try:
        while not stop.wait(1.0):
            pass
    finally:
        log.info("stopping")
        _remove_info(info_file, os.getpid())
        server.shutdown()
        server.server_close()
        engine.close()  # waits for the query in flight
    return 0


def _remove_info(info_file: Path, pid: int) -> None:
    try:
        if int(json.loads(info_file.read_text()).get("pid", 0)) == pid:
            info_file.unlink()
    except (OSError, ValueError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    from streams.settings import load_settings

    p = argparse.ArgumentParser(
        prog="python -m deploy.local.warehouse",
        description="Own the local chDB directory and serve it over ClickHouse's HTTP interface on 127.0.0.1.",
    )
    p.add_argument("--data-dir", type=Path, help="where warehouse/warehouse.json goes (default METERLINE_DATA_DIR)")
    p.add_argument("--path", type=Path, help="the chDB directory (default: the one the ClickHouse DSN names)")
    p.add_argument("--port", type=int, help="port on 127.0.0.1; 0 picks a free one (default from settings)")
    args = p.parse_args(argv)
    overrides: dict[str, object] = {"data_dir": args.data_dir} if args.data_dir else {}
    settings = load_settings(**overrides)
    path = args.path
    if path is None:
        dsn = settings.resolved_clickhouse_dsn
        if not dsn.startswith("chdb://"):
            print("warehouse: the ClickHouse DSN names a server, not chDB: nothing to serve", file=sys.stderr)
            return 2
        path = Path(dsn[len("chdb://") :])
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    port = settings.local_warehouse_port if args.port is None else args.port
    return serve(path, settings.data_dir, port)


# -- the stack component ------------------------------------------------------------------------
class Warehouse:
    """The bridge as a local stack component: a detached ``python -m deploy.local.warehouse``."""

    name = "warehouse"

    def __init__(self, *, data_dir: Path, chdb_path: Path, port: int) -> None:
        self.data_dir, self.chdb_path, self.port = data_dir.resolve(), chdb_path.resolve(), port
        self.home = self.data_dir / WAREHOUSE_INFO.parent
        self.info_file = self.data_dir / WAREHOUSE_INFO
        self.log_file = self.home / "warehouse.log"
        self.pid_file = self.home / "warehouse.pid"

    def install(self) -> None:
        """Nothing to fetch: chDB is a Python dependency."""

    def start(self, timeout: float) -> None:
        if procs.read_pid(self.pid_file) is not None and self.ready():
            return
        procs.stop(self.pid_file)
        procs.ensure_port_free(self.port, "the warehouse bridge", "METERLINE_LOCAL_WAREHOUSE_PORT")
        self.home.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "deploy.local.warehouse", "--data-dir", str(self.data_dir)]
        argv += ["--path", str(self.chdb_path), "--port", str(self.port)]
        procs.spawn(argv, self.log_file, self.pid_file)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if procs.read_pid(self.pid_file) is None:
                raise StackError(f"the warehouse bridge exited during start-up:\n{procs.tail(self.log_file)}")
            if self.ready():
                return
            time.sleep(0.1)
        procs.stop(self.pid_file)
        raise StackError(f"the warehouse bridge did not answer within {timeout:.0f}s:\n{procs.tail(self.log_file)}")

    def ready(self) -> bool:
        """A real query over HTTP, from the bridge that warehouse.json names for this directory."""
        if bridge_port_for(self.data_dir, self.chdb_path) != self.port:
            return False
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/?query=SELECT%201", timeout=2) as resp:
                return bool(resp.status == 200 and resp.read() == b"1\n")
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> bool:
        stopped = procs.stop(self.pid_file)
        try:
            pid = int(json.loads(self.info_file.read_text()).get("pid", 0))
        except (OSError, ValueError):
            return stopped
        if not procs.pid_alive(pid):
            self.info_file.unlink(missing_ok=True)  # left by a bridge that was killed
        return stopped

    def status(self) -> ComponentStatus:
        pid = procs.read_pid(self.pid_file)
        running = pid is not None and procs.port_open(self.port)
        try:
            detail = f"chDB {dist_version('chdb')} at {self.chdb_path}"
        except PackageNotFoundError:
            detail = f"chDB at {self.chdb_path}"
        return ComponentStatus(self.name, running, pid, f"http://127.0.0.1:{self.port}", detail)


if __name__ == "__main__":
    sys.exit(main())
