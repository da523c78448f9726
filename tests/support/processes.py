"""Real processes for tests: a Meterline worker or the HTTP ingest server, and its metrics."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from streams.settings import Settings
from streams.worker.metrics import read_metrics


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def settings_env(s: Settings, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "METERLINE_KAFKA_BOOTSTRAP": s.kafka_bootstrap,
        "METERLINE_TOPIC_PREFIX": s.topic_prefix,
        "METERLINE_DATA_DIR": str(s.data_dir),
        "METERLINE_TOPIC_PARTITIONS": str(s.topic_partitions),
    }
    env.update(extra)
    return env


class Proc:
    """A ``meterline`` subprocess with its log file; stopped politely, or killed."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._fh = open(log, "ab")  # noqa: SIM115 - lives as long as the process
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "streams.cli.main", *args], env=env, stdout=self._fh, stderr=subprocess.STDOUT
        )

    def alive(self) -> bool:
        return self.popen.poll() is None

    def terminate(self, timeout: float = 30) -> int:
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)
        self._fh.close()
        return int(self.popen.returncode)

    def kill9(self) -> None:
        self.popen.kill()
        self.popen.wait(10)
        self._fh.close()

    def tail(self, n: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])


def start_worker(
    s: Settings, log: Path, worker_id: str = "w1", role: str = "all", **env_extra: str
) -> tuple[Proc, int]:
    port = free_port()
    env = settings_env(s, METERLINE_METRICS_PORT=str(port), METERLINE_WORKER_ID=worker_id, **env_extra)
    # Info: a failing test shows the tail of this log, and Faust says there how far recovery and rebalances got.
    return Proc(["worker", "--role", role, "--loglevel", "info"], env, log), port


def scrape(port: int) -> dict[str, float]:
    return read_metrics(port)


def wait_until(cond: Callable[[], bool], timeout: float, what: str, proc: Proc | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        if proc is not None and not proc.alive():
            raise AssertionError(f"process exited while waiting for {what}:\n{proc.tail()}")
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}" + (f"\n{proc.tail()}" if proc else ""))


def wait_for_api(base: str, proc: Proc, timeout: float = 60) -> None:
    """Until the billing API process at ``base`` answers its health check."""
    import httpx

    def up() -> bool:
        try:
            return httpx.get(f"{base}/api/billing/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(up, timeout, "the API to answer", proc)


def drained(port: int, topics: tuple[str, ...]) -> bool:
    """True once the worker reports zero lag on every partition of ``topics`` (committed = high water).

    Offsets are committed only after a batch's writes, so this means everything read was stored.
    """
    lag = {k: v for k, v in scrape(port).items() if k.startswith("meterline_consumer_lag{")}
    for topic in topics:
        mine = [v for k, v in lag.items() if f'topic="{topic}"' in k]
        if not mine or any(v != 0 for v in mine):
            return False
    return True
