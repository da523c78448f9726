"""The billing API counts its responses by status class, errors included (the error-rate alert's input), and
reports its outboxes' backlog unless its store is away."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from streams.api.metrics import ApiMetrics, CountResponses
from streams.api.outbox_metrics import OutboxGauges


def ok(_: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def boom(_: Request) -> PlainTextResponse:
    raise RuntimeError("a bug")


def counted(metrics: ApiMetrics) -> tuple[float | None, ...]:
    return tuple(
        metrics.registry.get_sample_value("meterline_api_responses_total", {"code": code})
        for code in ("2xx", "4xx", "5xx")
    )


def test_every_status_class_is_exported_before_the_first_response() -> None:
    assert counted(ApiMetrics()) == (0, 0, 0)


async def test_responses_are_counted_by_status_class_and_a_crash_is_a_5xx() -> None:
    metrics = ApiMetrics()
    app = Starlette(
        routes=[Route("/ok", ok), Route("/boom", boom)], middleware=[Middleware(CountResponses, metrics=metrics)]
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        assert (await client.get("/ok")).status_code == 200
        assert (await client.get("/ok")).status_code == 200
        assert (await client.get("/missing")).status_code == 404
        assert (await client.get("/boom")).status_code == 500
    assert counted(metrics) == (2, 1, 1)


def test_outbox_gauges_export_nothing_while_the_store_is_unreachable(tmp_path: Path) -> None:
    """A scrape must not fail (or report a backlog of 0) because the store is away: the gauges are left out."""
    engine = create_engine(f"sqlite:///{tmp_path / 'missing' / 'billing.db'}")  # its directory does not exist
    metrics = ApiMetrics()
    metrics.registry.register(OutboxGauges(sessionmaker(engine), lambda: datetime.now(UTC)))
    assert metrics.registry.get_sample_value("meterline_api_outbox_pending", {"outbox": "kafka"}) is None
    assert counted(metrics) == (0, 0, 0)  # the rest of the API's metrics still answer
