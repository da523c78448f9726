"""Root exception of the local stack."""

from streams.errors import MeterlineError


class StackError(MeterlineError):
    """A local stack component could not be prepared, started or stopped; the message says the fix.

    A ``MeterlineError`` so the CLI reports it without importing deploy/ (tests/unit/test_import_direction.py).
    """
