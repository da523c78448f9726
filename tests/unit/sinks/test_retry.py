"""The one retry loop of the sinks: retriable errors retried until the policy's attempts run out."""

from __future__ import annotations

import asyncio
import random

import pytest

from sinks.errors import SinkError, SinkRejected, SinkUnavailable
from sinks.retry import Retry, RetryPolicy, call_with_retries, call_with_retries_async

POLICY = RetryPolicy(initial=1.0, maximum=4.0, max_attempts=3)


def failing(errors: list[SinkError], calls: list[int]) -> object:
    def fn() -> str:
        calls.append(1)
        if errors:
            raise errors.pop(0)
        return "ok"

    return fn


def retry() -> Retry[SinkError]:
    return Retry(SinkError, lambda e: e.retriable, POLICY, random.Random(1))


def test_retriable_errors_are_retried_until_success() -> None:
    calls: list[int] = []
    waits: list[float] = []
    fn = failing([SinkUnavailable("a"), SinkUnavailable("b")], calls)
    assert call_with_retries(fn, retry(), waits.append) == "ok"  # type: ignore[arg-type]
    assert len(calls) == 3
    # attempt 1 waits 2 s and attempt 2 waits 4 s (the maximum), each jittered to 50-100 %
    assert 1.0 <= waits[0] <= 2.0 and 2.0 <= waits[1] <= 4.0


def test_gives_up_after_max_attempts_and_at_once_on_a_final_error() -> None:
    calls: list[int] = []
    fn = failing([SinkUnavailable(str(i)) for i in range(5)], calls)
    with pytest.raises(SinkUnavailable, match="2"):
        call_with_retries(fn, retry(), lambda _: None)  # type: ignore[arg-type]
    assert len(calls) == 3
    calls.clear()
    fn = failing([SinkRejected("no")], calls)
    with pytest.raises(SinkRejected):
        call_with_retries(fn, retry(), lambda _: None)  # type: ignore[arg-type]
    assert len(calls) == 1


def test_async_loop_decides_as_the_blocking_one() -> None:
    calls: list[int] = []
    fn = failing([SinkUnavailable(str(i)) for i in range(5)], calls)

    async def afn() -> object:
        return fn()  # type: ignore[operator]

    async def no_wait(_: float) -> None:
        return None

    with pytest.raises(SinkUnavailable):
        asyncio.run(call_with_retries_async(afn, retry(), no_wait))
    assert len(calls) == 3
