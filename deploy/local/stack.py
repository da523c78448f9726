"""The local stack: its components, in start order, built from the settings.

Adding a component is one entry in ``components``; each knows how to install, start (waiting for a
real client call), stop and report itself.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from deploy.local.component import Component, ComponentStatus
from deploy.local.kafka import KafkaBroker
from deploy.local.smtp import SmtpSink
from deploy.local.stripe_mock import StripeMock
from deploy.local.warehouse import Warehouse
from streams.settings import Settings

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})


def components(settings: Settings) -> list[Component]:
    comps: list[Component] = [
        KafkaBroker(
            cache_dir=settings.cache_dir,
            data_dir=settings.data_dir,
            port=settings.local_kafka_port,
            controller_port=settings.local_kafka_controller_port,
            heap=settings.local_kafka_heap,
        ),
        StripeMock(
            cache_dir=settings.cache_dir,
            data_dir=settings.data_dir,
            port=settings.local_stripe_mock_port,
            https_port=settings.local_stripe_mock_https_port,
        ),
    ]
    dsn = settings.resolved_clickhouse_dsn
    if dsn.startswith("chdb://"):
        # The bridge that owns the chDB directory, so every process can query it (a server DSN needs none).
        chdb_path = Path(dsn[len("chdb://") :])
        comps.append(Warehouse(data_dir=settings.data_dir, chdb_path=chdb_path, port=settings.local_warehouse_port))
    if settings.smtp_host in LOCAL_HOSTS:  # notices go to the stack's own server (a real one needs none)
        comps.append(SmtpSink(data_dir=settings.data_dir, port=settings.smtp_port))
    return comps


def install(settings: Settings) -> None:
    for c in components(settings):
        c.install()


def up(settings: Settings, timeout: float = 90.0) -> list[ComponentStatus]:
    """Install what is missing and start what is not running; fast when all is up already."""
    started = time.monotonic()
    for c in components(settings):
        c.install()
        c.start(timeout=max(10.0, timeout - (time.monotonic() - started)))
    return status(settings)


def down(settings: Settings) -> list[str]:
    """Stop every component (in reverse order); returns the names that were running."""
    return [c.name for c in reversed(components(settings)) if c.stop()]


def status(settings: Settings) -> list[ComponentStatus]:
    return [c.status() for c in components(settings)]


def all_running(statuses: Sequence[ComponentStatus]) -> bool:
    return all(s.running for s in statuses)


def reachable(settings: Settings) -> bool:
    """Whether the Kafka and Stripe the settings point at already answer real calls (whoever runs them)."""
    import asyncio
    import urllib.error
    import urllib.request

    from deploy.local.kafka import broker_answers

    if not asyncio.run(broker_answers(settings.kafka_bootstrap)):
        return False
    req = urllib.request.Request(
        f"{settings.resolved_stripe_api_base}/v1/customers?limit=1",
        headers={"Authorization": f"Bearer {settings.stripe_api_key.get_secret_value()}"},
    )
    try:
        with urllib.request.urlopen(req, timeout=2) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False
