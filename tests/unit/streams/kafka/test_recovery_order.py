"""The end of a rebalance (``OrderedRecovery.on_recovery_completed``): the stream partitions are sought to their
committed offsets (their earliest when nobody committed) and the streams' queues cleared before the partitions
resume, so no record is fetched before the clear (faust's order resumed them first, and a record fetched
meanwhile could be cleared from one agent's queue after another had taken it: that agent never saw it)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Set
from pathlib import Path
from typing import Any, cast

from faust.types import TP

from streams.kafka.polling import PollingConsumer
from streams.kafka.recovery import OrderedRecovery, OrderedTableManager

STREAM, CHANGELOG = TP("usage.accepted", 0), TP("meterline-live-usage-changelog", 0)


class Recorder:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def note(self, what: str) -> None:
        self.calls.append(what)


class FakeConsumer:
    def __init__(self, rec: Recorder, committed: int | None) -> None:
        self.rec, self.committed = rec, committed
        self._read_offset: dict[Any, int | None] = {}
        self._committed_offset: dict[Any, int | None] = {}

    def assignment(self) -> set[tuple[str, int]]:
        return {STREAM, CHANGELOG}

    async def seek_to_committed(self) -> dict[tuple[str, int], int | None]:
        self.rec.note("seek to committed")
        return {STREAM: self.committed, CHANGELOG: None}

    async def earliest_offsets(self, *tps: tuple[str, int]) -> dict[tuple[str, int], int]:
        return {tp: 3 for tp in tps}  # retention removed 0-2

    async def seek_wait(self, offsets: dict[tuple[str, int], int]) -> None:
        for tp, offset in offsets.items():
            self.rec.note(f"seek {tp[0]} to {offset}")

    def resume_flow(self) -> None:
        self.rec.note("resume_flow")

    def resume_partitions(self, tps: set[tuple[str, int]]) -> None:
        self.rec.note(f"resume_partitions {sorted(tps)}")


class Anything:
    """Attributes and calls that do nothing (what the order does not depend on)."""

    def __init__(self, rec: Recorder, name: str) -> None:
        self._rec, self._name = rec, name

    def __getattr__(self, attr: str) -> Any:
        return Anything(self._rec, f"{self._name}.{attr}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._name.endswith(".send") or self._name.endswith("maybe_start"):
            return asyncio.sleep(0)
        if self._name.endswith("assigned_standbys"):
            return set()
        return None


class FakeFlowControl:
    def __init__(self, rec: Recorder) -> None:
        self.rec = rec

    def resume(self) -> None:
        self.rec.note("clear queues")


class Tables(dict[Any, Any]):
    """No tables to call back; the manager's readiness calls do nothing."""

    def on_actives_ready(self) -> None:
        pass

    def on_standbys_ready(self) -> None:
        pass


class FakePollingConsumer(FakeConsumer, PollingConsumer):  # type: ignore[misc]
    """The worker's consumer: says when the polls over some partitions have ended (streams/kafka/polling.py)."""

    async def polls_done(self, partitions: Set[TP]) -> None:
        self.rec.note(f"polls done {sorted(partitions)}")


class FakeRecovery:
    def __init__(self, rec: Recorder, committed: int | None, polling: bool = False) -> None:
        self.app = Anything(rec, "app")
        self.app.__dict__.update(
            consumer=(FakePollingConsumer if polling else FakeConsumer)(rec, committed),
            consumer_generation_id=3,
            flow_control=FakeFlowControl(rec),
        )
        self.log = Anything(rec, "log")
        self.tables: dict[Any, Any] = {}
        self.completed = asyncio.Event()

    _seek_streams = OrderedRecovery._seek_streams  # the method under test calls it on its self

    def _set_recovery_ended(self) -> None:
        pass

    async def _wait(self, coro: Awaitable[None], timeout: float | None = None) -> None:
        await coro

    def _is_changelog_tp(self, tp: tuple[str, int]) -> bool:
        return bool(tp == CHANGELOG)


def run(generation: int, committed: int | None = 7, polling: bool = False) -> list[str]:
    rec = Recorder()
    fake = FakeRecovery(rec, committed, polling)
    fake.tables = type(
        "Tables", (dict,), {"on_actives_ready": lambda self: None, "on_standbys_ready": lambda self: None}
    )()
    asyncio.run(OrderedRecovery.on_recovery_completed(cast(Any, fake), generation))
    return rec.calls


def test_the_stream_partitions_resume_after_the_seek_and_the_clear() -> None:
    assert run(3) == ["seek to committed", "clear queues", "resume_flow", f"resume_partitions {[STREAM]}"]


def test_a_partition_nobody_committed_starts_again_from_its_earliest_offset() -> None:
    # Records fetched for it as partitions were assigned stay buffered through a seek to "no committed offset";
    # sought to its earliest, its records are fetched after the queues are cleared. Changelogs are recovery's.
    calls = run(3, committed=None)
    assert calls[:2] == ["seek to committed", "seek usage.accepted to 3"]
    assert calls[2:] == ["clear queues", "resume_flow", f"resume_partitions {[STREAM]}"]


def test_the_polls_in_flight_over_the_stream_partitions_end_before_the_seek() -> None:
    # One begun before the rebalance paused them could return their records after the seek, moving past them.
    assert run(3, polling=True)[:2] == [f"polls done {[STREAM]}", "seek to committed"]


def test_a_newer_rebalance_resumes_nothing() -> None:
    assert run(2) == []


def test_the_worker_app_uses_it(tmp_path: Path) -> None:
    from streams.settings import load_settings
    from streams.worker.app import create_faust_app

    app = create_faust_app(load_settings().model_copy(update={"data_dir": tmp_path}))
    assert isinstance(app.tables, OrderedTableManager)
    assert isinstance(app.tables.recovery, OrderedRecovery)
