"""The outbox relays' shared loop: a failed round is reported and the next round runs."""

from __future__ import annotations

import asyncio

from streams.store.relays.loop import run_relay


def test_a_failed_round_is_reported_and_the_loop_goes_on() -> None:
    async def scenario() -> tuple[int, list[str]]:
        stop, wake = asyncio.Event(), asyncio.Event()
        rounds = 0
        errors: list[str] = []

        async def drain() -> int:
            nonlocal rounds
            rounds += 1
            if rounds <= 2:
                raise RuntimeError(f"down {rounds}")
            stop.set()
            return 1

        await run_relay("test relay", drain, wake, stop, 0.001, on_error=lambda e: errors.append(str(e)))
        return rounds, errors

    rounds, errors = asyncio.run(scenario())
    assert rounds == 3 and errors == ["down 1", "down 2"]


def test_a_wake_runs_the_next_round_before_the_interval() -> None:
    async def scenario() -> int:
        stop, wake = asyncio.Event(), asyncio.Event()
        rounds = 0

        async def drain() -> int:
            nonlocal rounds
            rounds += 1
            if rounds == 1:
                wake.set()  # a commit during the drain: woken again, not after an hour
            else:
                stop.set()
            return 0

        await asyncio.wait_for(run_relay("test relay", drain, wake, stop, 3600.0), timeout=60)
        return rounds

    assert asyncio.run(scenario()) == 2
