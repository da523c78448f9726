"""Sending a ``Simulation`` through the real path: subscriptions published to ``billing.subscriptions``,
events through the producer SDK (duplicates and late events included), malformed records raw."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from aiokafka import AIOKafkaProducer

from deploy.demo.simulate import Simulation
from schemas.sdk import AsyncUsageClient
from streams.settings import Settings
from streams.subscriptions.publish import publish_subscriptions
from streams.topics import EVENTS


class Progress:
    """A one-line progress bar on stderr (plain lines when stderr is not a terminal)."""

    def __init__(self, label: str, total: int, width: int = 30) -> None:
        self.label, self.total, self.width = label, max(1, total), width
        self._tty = sys.stderr.isatty()
        self._last = -1.0
        self._t0 = time.monotonic()

    def update(self, done: int) -> None:
        frac = min(1.0, done / self.total)
        now = time.monotonic()
        if self._tty and (now - self._last > 0.1 or frac >= 1):
            bar = "#" * int(frac * self.width)
            sys.stderr.write(f"\r{self.label} [{bar:<{self.width}}] {frac:5.1%} {done:,}/{self.total:,}")
            self._last = now
        elif not self._tty and (now - self._last > 5 or frac >= 1) and self._last != -2:
            sys.stderr.write(f"{self.label}: {done:,}/{self.total:,}\n")
            self._last = -2 if frac >= 1 else now

    def done(self) -> float:
        self.update(self.total)
        if self._tty:
            sys.stderr.write("\n")
        return time.monotonic() - self._t0


async def send_simulation(settings: Settings, sim: Simulation, on_sent: Callable[[int], None] | None = None) -> int:
    """Publish the subscriptions and send every event (then the malformed records); returns events sent."""
    await publish_subscriptions(settings, sim.subscriptions)
    sent = 0
    async with AsyncUsageClient(settings.kafka_bootstrap, source="simulate", topic=settings.topic(EVENTS)) as usage:
        for e in sim.send_order():
            await usage.record(
                e.metric,
                e.quantity,
                user_id=e.user_id,
                org_id=e.org_id,
                properties=e.properties or None,
                event_id=e.event_id,
                timestamp=e.ts,
            )
            sent += 1
            if on_sent is not None and sent % 2000 == 0:
                on_sent(sent)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    try:
        for raw in sim.malformed:
            await producer.send_and_wait(settings.topic(EVENTS), raw)
    finally:
        await producer.stop()
    if on_sent is not None:
        on_sent(sent)
    return sent
