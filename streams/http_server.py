"""Runs the HTTP ingest app under uvicorn with a Kafka forwarder started and stopped with it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from prometheus_client import CollectorRegistry, Counter, make_asgi_app
from starlette.applications import Starlette
from starlette.routing import Mount

from streams.api_keys import ApiKeyStore
from streams.app import decode_limits
from streams.forwarder import KafkaForwarder
from streams.http_ingest import create_ingest_app
from streams.settings import Settings
from streams.topics import EVENTS


def build_app(settings: Settings) -> Starlette:
    forwarder = KafkaForwarder(settings.kafka_bootstrap, settings.topic(EVENTS))
    registry = CollectorRegistry()
    accepted = Counter("meterline_http_events_accepted", "Events accepted over HTTP", ["source"], registry=registry)
    rejected = Counter(
        "meterline_http_events_rejected", "Events refused over HTTP", ["source", "reason"], registry=registry
    )

    def on_result(source: str, n_ok: int, bad: dict[str, int]) -> None:
        accepted.labels(source).inc(n_ok)
        for reason, n in bad.items():
            rejected.labels(source, reason).inc(n)

    inner = create_ingest_app(
        ApiKeyStore(settings.data_dir / "ingest_keys.json"), forwarder, decode_limits(settings), on_result=on_result
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        await forwarder.start()
        try:
            yield
        finally:
            await forwarder.stop()

    return Starlette(routes=[Mount("/metrics", app=make_asgi_app(registry)), Mount("/", app=inner)], lifespan=lifespan)


def serve(settings: Settings, host: str, port: int) -> None:
    uvicorn.run(build_app(settings), host=host, port=port, log_level="warning", lifespan="on")
