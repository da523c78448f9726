"""Pacing a CPU-bound job that runs in a thread beside the event loop.

Python runs one thread at a time. A settlement run is seconds of Python in a worker thread; in a
``--role all`` worker it takes the interpreter from the live rating stage about half the time, and the
event-to-quota tail doubled while it ran (BENCHMARKS.md). A paced job sleeps after each piece of work
in proportion to the time the piece took, and the lock is free while it sleeps.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Pacer:
    """Keeps a job to about ``share`` of the wall time: call ``begin()`` when it starts and the pacer
    itself after each piece of work (pieces should be short: a piece is never interrupted)."""

    def __init__(
        self,
        share: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not 0 < share <= 1:
            raise ValueError(f"share must be in (0, 1], not {share}")
        self._share, self._clock, self._sleep = share, clock, sleep
        self._mark = clock()

    def begin(self) -> None:
        self._mark = self._clock()

    def __call__(self) -> None:
        if self._share >= 1:
            return
        rest = (self._clock() - self._mark) * (1 - self._share) / self._share
        if rest > 0:
            self._sleep(rest)
        self._mark = self._clock()
