"""The consumer-lag report and the no-partitions watchdog, a timer on every worker."""

from __future__ import annotations

import logging
import os
import sys
import time

from streams.kafka.internals import committed_offset
from streams.worker.app import Wiring
from streams.worker.crash import EXIT_AGENT_CRASHED

log = logging.getLogger(__name__)


def register_lag_report(w: Wiring) -> None:
    """Every 5 s: export each assigned partition's lag; exit if the worker has had none for too long."""
    app, s = w.app, w.settings
    unassigned_since = [time.monotonic()]

    reported: set[tuple[str, int]] = set()

    async def report_lag() -> None:
        consumer = app.consumer
        assignment = consumer.assignment()
        # Watchdog: a worker left without partitions (seen after a broker restart caught it mid-join)
        # would sit idle for ever; crash-only, it exits and its supervisor starts it afresh.
        if assignment:
            unassigned_since[0] = time.monotonic()
        elif s.stall_exit_seconds and time.monotonic() - unassigned_since[0] > s.stall_exit_seconds:
            log.critical("no partitions assigned for %.0f s: exiting so the worker restarts", s.stall_exit_seconds)
            sys.stderr.flush()
            os._exit(EXIT_AGENT_CRASHED)
        for tp in assignment:
            try:
                high = consumer.highwater(tp)
                committed = committed_offset(consumer, tp)
            except Exception:  # metadata not fetched yet: skip this round
                continue
            if high is not None:
                w.metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(max(0, high - (committed or 0)))
                reported.add((tp.topic, tp.partition))
        # A partition that moved to another worker is no longer this worker's lag: its last value would
        # otherwise stay exported for ever (and read as a backlog nobody is working on).
        for topic, partition in reported - {(tp.topic, tp.partition) for tp in assignment}:
            w.metrics.consumer_lag.remove(topic, str(partition))
            reported.discard((topic, partition))

    app.timer(5.0)(report_lag)
