"""Runs the HTTP ingest app under uvicorn with a Kafka forwarder started and stopped with it."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from prometheus_client import start_http_server
from starlette.applications import Starlette
from starlette.routing import Mount

from streams.ingest.http import create_ingest_app
from streams.ingest.keys import ApiKeyStore
from streams.ingest.metrics import IngestMetrics
from streams.kafka.forwarder import KafkaForwarder
from streams.settings import Settings
from streams.topics import EVENTS
from streams.worker.app import decode_limits

log = logging.getLogger(__name__)


def build_app(settings: Settings) -> Starlette:
    forwarder = KafkaForwarder(settings.kafka_bootstrap, settings.topic(EVENTS))
    ingest_metrics = IngestMetrics()

    inner = create_ingest_app(
        ApiKeyStore(settings.data_dir / "ingest_keys.json"),
        forwarder,
        decode_limits(settings),
        on_result=ingest_metrics.on_result,
        rate_per_minute=settings.http_ingest_rate_per_minute,
        failures_per_minute=settings.auth_failures_per_minute,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        # Metrics on their own port of metrics_host (127.0.0.1 by default), never on the public ingest port:
        # they name every source and its traffic (docs/security.md).
        metrics = None
        if settings.http_ingest_metrics_port:
            try:
                metrics = start_http_server(
                    settings.http_ingest_metrics_port, settings.metrics_host, ingest_metrics.registry
                )
            except OSError as exc:  # e.g. the port is taken: ingest matters more than its metrics
                log.warning("no metrics on %s:%s: %s", settings.metrics_host, settings.http_ingest_metrics_port, exc)
        await forwarder.start()
        try:
            yield
        finally:
            await forwarder.stop()
            if metrics is not None:
                metrics[0].shutdown()
                metrics[0].server_close()

    return Starlette(routes=[Mount("/", app=inner)], lifespan=lifespan)


def serve(settings: Settings, host: str, port: int) -> None:
    uvicorn.run(build_app(settings), host=host, port=port, log_level="warning", lifespan="on")
