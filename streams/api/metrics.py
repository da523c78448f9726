"""Prometheus metrics of the billing API (names prefixed ``meterline_api_``), served by
``meterline api serve --metrics-port`` on an address of its own, never on the API's public port."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, start_http_server


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.webhook_account_mismatch = Counter(
            "meterline_api_webhook_account_mismatch",
            "Stripe webhook events ignored because their object's metadata names another account than the "
            "subscription they would change",
            registry=r,
        )

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        """Expose ``/metrics`` over HTTP (a daemon thread; 0 disables)."""
        if port:
            start_http_server(port, addr=host, registry=self.registry)
