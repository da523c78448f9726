"""The demo's worker process, kept running as a supervisor would keep it.

The worker is crash-only (docs/operations.md): it exits when it cannot go on — e.g. its watchdog after
``METERLINE_STALL_EXIT_SECONDS`` without partitions, which a broker still starting can cause — and its
supervisor starts it again; nothing is lost or counted twice. The demo is that supervisor for its one
worker, so a first start on a cold broker does not end the user's first run.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from streams.errors import MeterlineError
from streams.worker.metrics import read_metrics

#: Starts after the first before the demo gives up: a worker that keeps exiting has a real problem.
RESTARTS = 2
ACCEPTED = "meterline_events_accepted_total"


class DemoWorker:
    def __init__(self, env: Mapping[str, str], log: Path, metrics_port: int) -> None:
        self.env, self.log, self.port = dict(env), log, metrics_port
        self.restarts = 0
        #: Events the earlier processes accepted, as last read from their metrics: a new process counts from 0.
        self.accepted_before = 0.0
        self._last_accepted = 0.0
        self.proc = self._spawn()

    def _spawn(self) -> subprocess.Popen[bytes]:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as fh:
            return subprocess.Popen(
                [sys.executable, "-m", "streams.cli.main", "worker"],
                env=self.env,
                stdout=fh,
                stderr=subprocess.STDOUT,
            )

    def metrics(self) -> dict[str, float]:
        m = read_metrics(self.port)
        self._last_accepted = max(self._last_accepted, m.get(ACCEPTED, 0.0))
        return m

    def accepted(self, m: Mapping[str, float]) -> float:
        """Events accepted by this run's workers so far (at least: the last reading of a dead one may be behind)."""
        return self.accepted_before + m.get(ACCEPTED, 0.0)

    def keep_running(self, what: str) -> None:
        """Start the worker again if it exited (up to ``RESTARTS`` times), saying so."""
        code = self.proc.poll()
        if code is None:
            return
        if self.restarts >= RESTARTS:
            raise MeterlineError(
                f"the worker exited (code {code}) while waiting for {what}, "
                f"after {self.restarts} restart(s); see {self.log}"
            )
        self.restarts += 1
        self.accepted_before += self._last_accepted
        self._last_accepted = 0.0
        print(f"  the worker exited (code {code}) while waiting for {what}: starting it again, as its supervisor would")
        self.proc = self._spawn()

    def wait_for(self, cond: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if cond():
                return
            self.keep_running(what)
            time.sleep(0.5)
        raise MeterlineError(f"timed out waiting for {what}; see {self.log}")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
