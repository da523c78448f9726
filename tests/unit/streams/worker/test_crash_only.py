from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import asyncio
from streams.worker.crash import crash_only

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

    from streams.worker.crash import crash_only

    @crash_only
    async def ok() -> int:
        return 7

    assert asyncio.run(ok()) == 7


DISK_FULL = """
import asyncio, errno
from streams.worker.crash import crash_only

@crash_only
async def agent():
    try:
        raise OSError(errno.ENOSPC, "No space left on device", "/data/w1/dedupe")
    except OSError as exc:
        raise RuntimeError("claim failed") from exc

asyncio.run(agent())
"""


def test_a_full_disk_is_a_clear_one_line_error_and_its_own_exit_code() -> None:
    res = subprocess.run([sys.executable, "-c", DISK_FULL], capture_output=True, text=True, timeout=60)
    assert res.returncode == 74
    assert res.stderr.startswith("meterline worker: error: cannot write local state: No space left on device")
    assert "/data/w1/dedupe" in res.stderr and "Traceback" not in res.stderr


def test_storage_problems_are_recognised_in_text_and_errno() -> None:
    import errno

    from streams.worker.crash import storage_problem

    assert storage_problem(Exception("IO error: No space left on device: While appending to file")) is not None
    assert storage_problem(PermissionError(errno.EACCES, "Permission denied", "/var/x")) is not None
    assert storage_problem(ValueError("poison")) is None
