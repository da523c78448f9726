"""Detached processes of the local stack: pid files, liveness, ports, stopping without orphans."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from deploy.local.errors import StackError
from streams.pids import pid_alive as pid_alive  # re-exported: the stack's modules use procs.pid_alive


def read_pid(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        return s.connect_ex((host, port)) == 0


def ensure_port_free(port: int, what: str, setting: str) -> None:
    """Fail with a one-line cause and fix when something else already listens on ``port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError as exc:
            raise StackError(
                f"port {port} for {what} is already in use ({exc.strerror}); stop what uses it "
                f"or choose another port with {setting}"
            ) from exc


def spawn(argv: Sequence[str], log_file: Path, pid_file: Path, env: dict[str, str] | None = None) -> int:
    """Start ``argv`` in its own session (it survives this process), output to ``log_file``."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )
    pid_file.write_text(str(proc.pid))
    return proc.pid


def stop(pid_file: Path, timeout: float = 20.0) -> bool:
    """SIGTERM the process group, SIGKILL after ``timeout``; True if something was running."""
    pid = read_pid(pid_file)
    if pid is None:
        pid_file.unlink(missing_ok=True)
        return False
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_alive(pid):
        _reap(pid)
        time.sleep(0.1)
    if pid_alive(pid):
        _signal_group(pid, signal.SIGKILL)
        for _ in range(50):
            _reap(pid)
            if not pid_alive(pid):
                break
            time.sleep(0.1)
    pid_file.unlink(missing_ok=True)
    return True


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(os.getpgid(pid), sig)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def run_checked(
    argv: Sequence[str], what: str, fix: str, timeout: float = 900, env: dict[str, str] | None = None
) -> None:
    """Run a set-up command; on failure raise a one-line cause with the fix and the last output lines."""
    try:
        res = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
        )
    except FileNotFoundError as exc:
        raise StackError(f"{what}: {argv[0]} not found; {fix}") from exc
    except subprocess.TimeoutExpired as exc:
        raise StackError(f"{what}: timed out after {timeout:.0f}s; check the network to the package registry") from exc
    if res.returncode != 0:
        out = "\n".join((res.stdout + res.stderr).strip().splitlines()[-15:])
        raise StackError(f"{what} failed (exit {res.returncode}); {fix}\n{out}")
