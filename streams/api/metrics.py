"""Prometheus metrics of the billing API (names prefixed ``meterline_api_``), served by
``meterline api serve --metrics-port`` on an address of its own, never on the API's public port."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, start_http_server
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.webhook_account_mismatch = Counter(
            "meterline_api_webhook_account_mismatch",
            "Stripe webhook events ignored because their object's metadata names another account than the "
            "subscription they would change",
            registry=r,
        )
        # By status class only: routes carry ids, and one series per path would grow without bound.
        self.responses = Counter(
            "meterline_api_responses",
            "HTTP responses of the billing API by status class (2xx ... 5xx)",
            ["code"],
            registry=r,
        )
        for code in ("2xx", "4xx", "5xx"):  # present from the start: an error rate needs its zero too
            self.responses.labels(code)

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        """Expose ``/metrics`` over HTTP (a daemon thread; 0 disables)."""
        if port:
            start_http_server(port, addr=host, registry=self.registry)


class CountResponses:
    """ASGI middleware counting each HTTP response by status class into ``metrics.responses``; an exception that
    escapes the app counts as a 5xx (the server answers it with a 500)."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def counting(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, counting)
        finally:
            self.metrics.responses.labels(f"{status // 100}xx").inc()
