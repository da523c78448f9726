"""One way to get a ClickHouse client for any DSN: a server over HTTP, or embedded chDB.

``chdb:///path`` opens the real ClickHouse engine in-process. chDB lets only one process open a
directory; which DSN to use when the local stack's warehouse bridge serves that directory is decided
by the caller (``streams.settings.clickhouse_dsn``): this module takes a DSN only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import clickhouse_connect
from clickhouse_connect.driver import httputil

from sinks.errors import SinkUnavailable

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


def connect(dsn: str, **kwargs: Any) -> Any:
    """A clickhouse-connect client for ``dsn`` (``http(s)://…`` or ``chdb:///path``)."""
    # The sinks and settlement share one client across threads; an HTTP session would refuse
    # concurrent queries, and nothing here relies on session state (temporary tables, SET).
    kwargs.setdefault("autogenerate_session_id", False)
    try:
        if dsn.startswith("chdb://"):
            path = Path(dsn[len("chdb://") :])
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
