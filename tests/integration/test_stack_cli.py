"""`meterline stack` as a user runs it: status as JSON, idempotent up, clear errors."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from streams.settings import Settings

pytestmark = pytest.mark.integration


def _meterline(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_status_json_lists_running_components(stack: Settings) -> None:
    res = _meterline("stack", "status", "--json")
    assert res.returncode == 0, res.stderr
    comps = {c["name"]: c for c in json.loads(res.stdout)["components"]}
    assert {"kafka", "stripe-mock"} <= comps.keys()
    assert all(c["running"] for c in comps.values())
    assert comps["kafka"]["address"] == f"127.0.0.1:{stack.local_kafka_port}"


def test_up_is_idempotent_and_fast_when_running(stack: Settings) -> None:
    started = time.monotonic()
    res = _meterline("stack", "up")
    assert res.returncode == 0, res.stderr
    assert time.monotonic() - started < 30  # generous: it only checks, it starts nothing
    assert "running" in res.stdout and "stopped" not in res.stdout


def test_port_in_use_is_a_one_line_error(tmp_path: os.PathLike[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        res = _meterline(
            "stack",
            "up",
            "--timeout",
            "20",
            env={"METERLINE_DATA_DIR": str(tmp_path), "METERLINE_LOCAL_KAFKA_PORT": str(port)},
        )
    assert res.returncode == 2
    assert res.stderr.startswith(f"meterline: error: port {port} for the Kafka broker is already in use")
    assert "METERLINE_LOCAL_KAFKA_PORT" in res.stderr


def test_status_of_a_stopped_stack_exits_1(tmp_path: os.PathLike[str]) -> None:
    res = _meterline("stack", "status", "--json", env={"METERLINE_DATA_DIR": str(tmp_path)})
    assert res.returncode == 1
    assert not any(c["running"] for c in json.loads(res.stdout)["components"])


def test_storage_format_takes_a_cluster_id_starting_with_a_dash(tmp_path: os.PathLike[str]) -> None:
    """Regression: a random base64 cluster id may begin with '-' (argparse read it as an option)."""
    from pathlib import Path

    from deploy.local.kafka import KafkaBroker
    from streams.settings import load_settings

    s = load_settings()
    broker = KafkaBroker(cache_dir=s.cache_dir, data_dir=Path(tmp_path), port=1, controller_port=2, heap="128m")
    broker.install()
    broker.home.mkdir(parents=True)
    props = broker.home / "server.properties"
    props.write_text(broker._properties())
    broker._format_once(props, cluster_id="-Zb9vZ8sQ9OlmW0RyXGc3A")
    assert (broker.home / "data" / "meta.properties").read_text().count("cluster.id=-Zb9vZ8sQ9OlmW0RyXGc3A") == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_started_broker_has_its_group_coordinator(tmp_path: os.PathLike[str]) -> None:
    """Regression: ``start`` returned when the broker answered metadata, before its group coordinator was up;
    a worker joining then got GroupCoordinatorNotAvailable (and once no partitions until restarted).
    Once ``start`` returns, a consumer group's coordinator is found at the first ask."""
    import asyncio
    from pathlib import Path

    from aiokafka.admin import AIOKafkaAdminClient

    from deploy.local.kafka import KafkaBroker
    from streams.settings import load_settings

    settings = load_settings()
    broker = KafkaBroker(
        cache_dir=settings.cache_dir,
        data_dir=Path(tmp_path),
        port=_free_port(),
        controller_port=_free_port(),
        heap=settings.local_kafka_heap,  # the stack's own: a smaller heap ran out in the log cleaner's buffer
    )
    broker.install()
    try:
        broker.start(timeout=120)

        async def coordinator() -> int:
            admin = AIOKafkaAdminClient(bootstrap_servers=f"127.0.0.1:{broker.port}", request_timeout_ms=3000)
            await admin.start()
            try:
                return await admin.find_coordinator("meterline-worker")
            finally:
                await admin.close()

        assert asyncio.run(coordinator()) == 1  # the local broker's node id, not an error
    finally:
        broker.stop()
