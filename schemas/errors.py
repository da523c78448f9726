"""Root exception of the schemas package."""


class SchemaError(Exception):
    """Base of every error raised by the event and record models."""
