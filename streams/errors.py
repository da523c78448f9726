"""Root exception of the streams package (the composition root and its CLI)."""


class MeterlineError(Exception):
    """Base of every error raised by Meterline's composition root and command line."""


class ConfigurationError(MeterlineError):
    """A setting is missing or malformed; the message names it and the fix."""
