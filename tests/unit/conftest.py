"""Unit tests are pure: they run in seconds without the local stack (``make test-unit``)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def stack() -> None:
    """Shadows the stack fixture of tests/conftest.py so that a unit test can never start the stack."""
    pytest.fail("a unit test may not use the local stack: put it in tests/integration or tests/e2e")
