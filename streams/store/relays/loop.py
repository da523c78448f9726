"""The loop every outbox relay runs (Kafka's and Stripe's): drain at once when woken after a commit,
else every ``interval`` seconds, and keep going when a round fails (the rows stay pending)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def run_relay(
    what: str,
    drain: Callable[[], Awaitable[int]],
    wake: asyncio.Event,
    stop: asyncio.Event,
    interval: float,
    *,
    max_backoff: float | None = None,
    on_error: Callable[[Exception], None] | None = None,
) -> None:
    """Call ``drain`` until ``stop``. After a failed round the next waits ``interval``, or, with
    ``max_backoff``, twice the last wait (at least 1 s) up to ``max_backoff``; a success resets it."""
    delay = interval
    while not stop.is_set():
        wake.clear()  # before draining: a commit during the drain wakes the next round
        try:
            await drain()
            delay = interval
        except Exception as exc:
            if on_error:
                on_error(exc)
            if max_backoff is not None:
                delay = min(max(delay, 0.5) * 2, max_backoff)
            log.warning("%s: %s; next round in %.1fs", what, exc, delay)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(first_of(stop, wake), timeout=delay)


async def drain_rounds(run_once: Callable[[], Awaitable[int]]) -> int:
    """Run ``run_once`` until a round sends nothing; returns how many were sent in all."""
    total = 0
    while n := await run_once():
        total += n
    return total


async def first_of(*events: asyncio.Event) -> None:
    """Return when any of ``events`` is set."""
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
