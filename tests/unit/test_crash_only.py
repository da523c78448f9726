from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import asyncio
from streams.crash import crash_only

@crash_only
async def agent():
    raise ValueError("poison")

asyncio.run(agent())
print("still alive")
"""


def test_an_unexpected_agent_error_ends_the_process() -> None:
    res = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert res.returncode == 70
    assert "still alive" not in res.stdout
    assert "agent agent crashed" in res.stderr and "ValueError: poison" in res.stderr


def test_normal_return_passes_through() -> None:
    import asyncio

    from streams.crash import crash_only

    @crash_only
    async def ok() -> int:
        return 7

    assert asyncio.run(ok()) == 7
