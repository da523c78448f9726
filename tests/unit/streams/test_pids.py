"""One liveness check for pid files and the warehouse bridge: a zombie is not alive."""

from __future__ import annotations

import os
import subprocess

from streams.pids import pid_alive


def test_a_running_process_is_alive_and_an_exited_unreaped_one_is_not() -> None:
    assert pid_alive(os.getpid())
    child = subprocess.Popen(["true"])
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited, still unreaped: a zombie
    try:
        assert not pid_alive(child.pid)  # os.kill(pid, 0) alone says alive
    finally:
        child.wait()
    assert not pid_alive(child.pid)
