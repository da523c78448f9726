"""Crash-only agents: an unexpected error ends the worker process instead of stalling one agent.

A Faust agent that raises stops consuming while the worker lives on, its partitions' offsets
frozen and lag growing silently. Exiting instead lets the supervisor (systemd, Kubernetes, the
demo) restart the worker, which replays from the last committed offset — the path the SIGKILL
tests prove loses and doubles nothing. A bug that recurs on the same input then shows up loudly.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

log = logging.getLogger(__name__)
EXIT_AGENT_CRASHED = 70  # EX_SOFTWARE
F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def crash_only(fn: F) -> F:
    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return await fn(*args, **kwargs)
        except Exception:
            log.critical(
                "agent %s crashed; exiting so the worker restarts from committed offsets", fn.__name__, exc_info=True
            )
            sys.stderr.flush()
            os._exit(EXIT_AGENT_CRASHED)

    return wrapper  # type: ignore[return-value]
