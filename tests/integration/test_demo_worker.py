"""The demo keeps its worker running as a supervisor would: a real worker killed mid-run is started again."""

from __future__ import annotations

import asyncio
import socket
import uuid
from pathlib import Path

import pytest

from deploy.demo.run import _env, demo_settings
from deploy.demo.worker import RESTARTS, DemoWorker
from streams.errors import MeterlineError
from streams.kafka.admin import ensure_topics
from streams.settings import Settings

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_killed_worker_is_started_again_then_given_up_on(stack: Settings, tmp_path: Path) -> None:
    s = demo_settings(stack, uuid.uuid4().hex[:6]).model_copy(
        update={"data_dir": tmp_path, "metrics_port": _free_port()}
    )
    asyncio.run(ensure_topics(s))
    worker = DemoWorker(_env(s), tmp_path / "worker.log", s.metrics_port)
    try:
        worker.wait_for(lambda: "meterline_records_in_total" in worker.metrics(), 120, "the worker to start")
        for restart in range(1, RESTARTS + 1):
            first = worker.proc.pid
            worker.proc.kill()
            worker.proc.wait(30)
            worker.wait_for(lambda: "meterline_records_in_total" in worker.metrics(), 120, "the worker to start")
            assert worker.restarts == restart and worker.proc.pid != first
        worker.proc.kill()
        worker.proc.wait(30)
        with pytest.raises(MeterlineError, match=rf"after {RESTARTS} restart\(s\); see .*worker.log"):
            worker.keep_running("the test")
    finally:
        worker.stop()
