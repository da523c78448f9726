"""``meterline ingest``: the HTTP ingest server and its per-source API keys."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from streams.cli.output import emit_json, emit_table
from streams.settings import Settings, load_settings


def _keys(settings: Settings) -> Any:
    from streams.ingest.keys import ApiKeyStore

    return ApiKeyStore(settings.data_dir / "ingest_keys.json")


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "ingest", help="HTTP ingest server and API keys", description="HTTP ingest (POST /v1/events) and its keys."
    )
    isub = p.add_subparsers(dest="ingest_command", metavar="ACTION", required=True)
    s = isub.add_parser(
        "serve",
        help="serve POST /v1/events",
        description="Serve the HTTP ingest API (OpenAPI at /openapi.json) with uvicorn on 127.0.0.1. Valid events "
        "are forwarded to usage.events; a 2xx answer means Kafka acknowledged them. Each key may post "
        "METERLINE_HTTP_INGEST_RATE_PER_MINUTE requests a minute (or its own limit); Prometheus metrics are on "
        "METERLINE_HTTP_INGEST_METRICS_PORT of METERLINE_METRICS_HOST, not on this port.",
    )
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    s.add_argument("--port", type=int, help="port (default METERLINE_HTTP_INGEST_PORT, 8088)")
    s.set_defaults(func=_serve)
    k = isub.add_parser("keys", help="manage per-source API keys", description="Per-source API keys (stored hashed).")
    ksub = k.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    c = ksub.add_parser("create", help="create a key; prints it once", description="Create a key for a source.")
    c.add_argument(
        "--source",
        required=True,
        help="the emitting service this key may send events for (not api:..., the billing API's namespaces)",
    )
    c.add_argument(
        "--rate-per-minute",
        type=int,
        help="requests a minute this key may post (default METERLINE_HTTP_INGEST_RATE_PER_MINUTE; 0: no limit)",
    )
    c.add_argument("--json", action="store_true", help="print as JSON")
    c.set_defaults(func=_create)
    ls = ksub.add_parser("list", help="list keys (never the secrets)", description="List keys.")
    ls.add_argument("--json", action="store_true", help="print as JSON")
    ls.set_defaults(func=_list)
    r = ksub.add_parser("revoke", help="revoke a key by id", description="Revoke a key; it stops working at once.")
    r.add_argument("key_id")
    r.set_defaults(func=_revoke)
    lim = ksub.add_parser(
        "limit",
        help="set a key's requests a minute",
        description="Set how many requests a minute a key may post (over it: 429 with Retry-After).",
    )
    lim.add_argument("key_id")
    lim.add_argument("rate_per_minute", help="requests a minute (0: no limit), or 'default' for the server's")
    lim.set_defaults(func=_limit)


def _create(args: argparse.Namespace) -> int:
    rec, plain = _keys(load_settings()).create(args.source, datetime.now(UTC), args.rate_per_minute)
    if args.json:
        emit_json({"key_id": rec.key_id, "source": rec.source, "api_key": plain})
    else:
        print(f"key {rec.key_id} for source {rec.source!r} (shown once, store it now):\n{plain}")
    return 0


def _list(args: argparse.Namespace) -> int:
    keys = _keys(load_settings()).list()
    rows = [{k: v for k, v in asdict(x).items() if k != "secret_sha256"} for x in keys]
    if args.json:
        emit_json({"keys": rows})
    else:
        emit_table(["key_id", "source", "created_at", "revoked", "rate_per_minute"], [list(r.values()) for r in rows])
    return 0


def _revoke(args: argparse.Namespace) -> int:
    rec = _keys(load_settings()).revoke(args.key_id)
    print(f"key {rec.key_id} ({rec.source}) revoked")
    return 0


def _limit(args: argparse.Namespace) -> int:
    from streams.ingest.keys import ApiKeyError

    raw = str(args.rate_per_minute)
    if raw != "default" and not raw.isdigit():
        raise ApiKeyError("give a number of requests a minute (0: no limit) or 'default'")
    rec = _keys(load_settings()).set_rate(args.key_id, None if raw == "default" else int(raw))
    shown = "the server's default" if rec.rate_per_minute is None else f"{rec.rate_per_minute} a minute"
    print(f"key {rec.key_id} ({rec.source}): {shown}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from streams.ingest.server import serve

    settings = load_settings()
    serve(settings, host=args.host, port=args.port or settings.http_ingest_port)
    return 0
