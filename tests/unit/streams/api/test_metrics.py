"""The billing API counts its responses by status class, errors included (the error-rate alert's input)."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from streams.api.metrics import ApiMetrics, CountResponses


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
