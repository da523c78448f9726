"""Shared fixtures: the real local stack (started if needed, stopped only if we started it)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from streams.settings import Settings, load_settings


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load_settings()


@pytest.fixture(scope="session")
def stack(settings: Settings) -> Iterator[Settings]:
    """The local stack, up. A stack the developer started stays up; one this session started stops.
    A Kafka and stripe-mock that already answer where the settings point are used as they are."""
    from deploy.local import stack as local_stack

    if not any(s.running for s in local_stack.status(settings)) and local_stack.reachable(settings):
        yield settings
        return
    before = {s.name for s in local_stack.status(settings) if s.running}
    local_stack.up(settings, timeout=120)
    yield settings
    started_here = {s.name for s in local_stack.status(settings)} - before
    if started_here:
        for comp in reversed(local_stack.components(settings)):
            if comp.name in started_here:
                comp.stop()


@pytest.fixture(scope="session")
def run_prefix() -> str:
    """A topic prefix unique to this test run, so runs never see each other's records."""
    return f"t{uuid.uuid4().hex[:8]}."


@pytest.fixture(scope="session")
def stack_settings(stack: Settings, run_prefix: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings pointing at the running stack, with this run's topic prefix and a fresh data dir."""
    data = tmp_path_factory.mktemp("data")
    return stack.model_copy(update={"topic_prefix": run_prefix, "data_dir": data})
