"""Root exception of the sinks package; each error says whether a retry may help."""


class SinkError(Exception):
    """Base of every error raised by a sink."""

    retriable: bool = False


class SinkUnavailable(SinkError):
    """The destination could not be reached or answered 429/5xx: back off and retry."""

    retriable = True


class SinkRejected(SinkError):
    """The destination refused the write for a reason a retry will not fix."""

    retriable = False
