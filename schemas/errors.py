"""Root exception of the schemas package."""


class SchemaError(Exception):
    """Base of every error raised by the event and record models."""


class InvalidEvent(SchemaError, ValueError):
    """An event the contract refuses; raised at the caller by the SDK, before anything is sent."""


class DeliveryError(SchemaError):
    """Kafka did not acknowledge a batch; its events stay buffered and the next flush retries them."""


class BufferFull(DeliveryError):
    """The synchronous client waited ``block_timeout`` for room in its bounded buffer (Kafka is behind)."""


class ClientClosed(SchemaError):
    """The client was closed; create a new one."""
