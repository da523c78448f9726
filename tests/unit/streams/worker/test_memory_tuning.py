"""The worker's allocator settings take effect on this platform's C library (glibc)."""

from __future__ import annotations

import os
import subprocess
import sys

CALL = "from streams.worker.memory import tune_allocator; print(tune_allocator())"


def _run(env: dict[str, str]) -> str:
    out = subprocess.run([sys.executable, "-c", CALL], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_mallopt_accepts_the_worker_settings() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    assert _run(env) == "['MALLOC_ARENA_MAX', 'MALLOC_MMAP_THRESHOLD_']"


def test_an_operators_environment_wins() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    assert _run({**env, "MALLOC_ARENA_MAX": "4"}) == "['MALLOC_MMAP_THRESHOLD_']"
