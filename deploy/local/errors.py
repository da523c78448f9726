"""Root exception of the local stack."""


class StackError(Exception):
    """A local stack component could not be prepared, started or stopped; the message says the fix."""
