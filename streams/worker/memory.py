"""glibc allocator settings for the worker process, set before it allocates much.

A worker moves records of hundreds of KB (Kafka fetches, JSON-lines batches, ClickHouse insert bodies)
through several threads. With glibc's defaults each thread may grow an arena of its own (up to eight
per core) and the mmap threshold rises after the first large frees, so freed batch buffers stay in the
heap. Measured (bench/ingest.py, 600k events, two runs each): a ``--role all`` worker peaked at 1,172
and 1,238 MiB with the defaults, 1,018 and 1,121 MiB with these settings, at the same speed. Environment
variables (``MALLOC_ARENA_MAX``, ``MALLOC_MMAP_THRESHOLD_``) set by an operator win.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

log = logging.getLogger(__name__)

#: mallopt parameters (glibc's malloc.h).
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8

ARENAS = 2
#: Blocks from this size on are mapped and unmapped on their own, so a freed batch buffer is returned
#: to the system at once (glibc's starting value, pinned: by default it grows to 32 MB).
MMAP_THRESHOLD = 128 * 1024


def tune_allocator() -> list[str]:
    """Apply the settings the environment leaves open; returns those applied (none where the C library
    is not glibc, or refuses them: the defaults then stay, with a warning)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return []
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return []
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    applied = []
    for env, param, value in (
        ("MALLOC_ARENA_MAX", M_ARENA_MAX, ARENAS),
        ("MALLOC_MMAP_THRESHOLD_", M_MMAP_THRESHOLD, MMAP_THRESHOLD),
    ):
        if env in os.environ:
            continue
        if mallopt(param, value) == 1:
            applied.append(env)
        else:
            log.warning("mallopt refused %s=%d; the allocator's default stays", env, value)
    return applied
