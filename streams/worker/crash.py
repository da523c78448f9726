"""Crash-only agents: an unexpected error ends the worker process instead of stalling one agent.

A Faust agent that raises stops consuming while the worker lives on, its partitions' offsets
frozen and lag growing silently. Exiting instead lets the supervisor (systemd, Kubernetes, the
demo) restart the worker, which replays from the last committed offset — the path the SIGKILL
tests prove loses and doubles nothing. A bug that recurs on the same input then shows up loudly.
"""

from __future__ import annotations

import errno
import functools
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

log = logging.getLogger(__name__)
EXIT_AGENT_CRASHED = 70  # EX_SOFTWARE
EXIT_STORAGE = 74  # EX_IOERR: the data directory cannot be written (disk full, permissions)
_STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS}
# RocksDB and chDB report I/O failures as text, not as OSError.
_STORAGE_TEXTS = ("No space left on device", "Permission denied", "Read-only file system", "Disk quota exceeded")


def storage_problem(exc: BaseException) -> str | None:
    """The reason, if ``exc`` (or what caused it) is a failure to write local storage."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in _STORAGE_ERRNOS:
            return f"{seen.strerror} ({seen.filename or 'data directory'})"
        for text in _STORAGE_TEXTS:
            if text in str(seen):
                return str(seen).strip().splitlines()[0][:300]
        seen = seen.__cause__ or seen.__context__
    return None


F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def report_storage_problem(problem: str) -> None:
    """One clear line: nothing past the failed write was committed, so fixing the disk and restarting
    loses nothing."""
    sys.stderr.write(
        f"meterline worker: error: cannot write local state: {problem}; stopping without committing "
        "offsets past unwritten data (free space or fix permissions on the data directory, then restart)\n"
    )
    sys.stderr.flush()


def crash_only(fn: F) -> F:
    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return await fn(*args, **kwargs)
        except Exception as exc:
            problem = storage_problem(exc)
            if problem is not None:
                report_storage_problem(problem)
                os._exit(EXIT_STORAGE)
            log.critical(
                "agent %s crashed; exiting so the worker restarts from committed offsets", fn.__name__, exc_info=True
            )
            sys.stderr.flush()
            os._exit(EXIT_AGENT_CRASHED)

    return wrapper  # type: ignore[return-value]
