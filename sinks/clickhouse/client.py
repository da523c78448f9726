"""One way to get a ClickHouse client for any DSN: a server over HTTP, or embedded chDB.

``chdb:///path`` opens the real ClickHouse engine in-process. chDB lets only one process open a
directory, so when the local stack's warehouse bridge (``deploy/local/warehouse.py``) serves that
same directory, the client talks to the bridge over HTTP instead — the code path production uses.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import clickhouse_connect
from clickhouse_connect.driver import httputil

from sinks.errors import SinkUnavailable

WAREHOUSE_INFO = Path("warehouse") / "warehouse.json"
HTTP_POOL_SIZE = 32

#: Server settings of an in-process chDB engine. ClickHouse sizes its caches for a dedicated server
#: (5 GiB each for marks and skip-index marks, ...); in a worker they would grow beside the process's
#: own memory as settlement reads the tables. These bounds hold the marks of far more data than a
#: worker's embedded warehouse keeps; a ClickHouse server keeps its own configuration.
EMBEDDED_SERVER_SETTINGS = {
    "mark_cache_size": 64 << 20,
    "index_mark_cache_size": 16 << 20,
    "primary_index_cache_size": 64 << 20,
    "query_condition_cache_size": 16 << 20,
    "compiled_expression_cache_size": 32 << 20,
}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def bridge_port_for(data_dir: Path, chdb_path: Path) -> int | None:
    """The port of a live warehouse bridge serving ``chdb_path``, if one runs."""
    info_file = data_dir / WAREHOUSE_INFO
    try:
        info = json.loads(info_file.read_text())
    except (OSError, ValueError):
        return None
    if Path(info.get("path", "")).resolve() != chdb_path.resolve() or not _pid_alive(int(info.get("pid", 0))):
        return None
    port = info.get("port")
    return int(port) if port else None


def connect(dsn: str, *, data_dir: Path, database: str | None = None, **kwargs: Any) -> Any:
    """A clickhouse-connect client for ``dsn`` (``http(s)://…`` or ``chdb:///path``)."""
    # The sinks and settlement share one client across threads; an HTTP session would refuse
    # concurrent queries, and nothing here relies on session state (temporary tables, SET).
    kwargs.setdefault("autogenerate_session_id", False)
    try:
        if dsn.startswith("chdb://"):
            path = Path(dsn[len("chdb://") :])
            port = bridge_port_for(data_dir, path)
            if port is not None:
                return clickhouse_connect.get_client(
                    host="127.0.0.1", port=port, interface="http", database=database or "", **_pooled(kwargs)
                )
            path.mkdir(parents=True, exist_ok=True)
            kwargs.pop("autogenerate_session_id")
            kwargs.setdefault("chdb_options", {k: str(v) for k, v in EMBEDDED_SERVER_SETTINGS.items()})
            return clickhouse_connect.get_client(dsn=f"chdb://{path}", **kwargs)
        parsed = urlparse(dsn)
        if parsed.scheme not in ("http", "https", "clickhouse", "clickhouses"):
            raise SinkUnavailable(f"unsupported ClickHouse DSN scheme {parsed.scheme!r}: use http(s):// or chdb://")
        return clickhouse_connect.get_client(dsn=dsn, **_pooled(kwargs))
    except SinkUnavailable:
        raise
    except Exception as exc:
        raise SinkUnavailable(
            f"cannot connect to ClickHouse at {_redact(dsn)}: {exc} "
            "(is the server up, or another process holding the chDB directory? see `meterline stack status`)"
        ) from exc


def _pooled(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Enough pooled connections for the threads that share one client (sinks, settlement, reporting)."""
    kwargs.setdefault("pool_mgr", httputil.get_pool_manager(maxsize=HTTP_POOL_SIZE))
    return kwargs


def _redact(dsn: str) -> str:
    p = urlparse(dsn)
    if p.password:
        return dsn.replace(f":{p.password}@", ":***@")
    return dsn


def connect_clickhouse(settings: Any) -> Any:
    """The client the settings point at (``settings``: ``streams.settings.Settings``)."""
    return connect(settings.resolved_clickhouse_dsn, data_dir=Path(settings.data_dir))
