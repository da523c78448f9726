"""Root exception of the schemas package."""


class SchemaError(Exception):
    """Base of every error raised by the event and record models."""


class InvalidEvent(SchemaError, ValueError):
    """An event the contract refuses; raised at the caller by the SDK, before anything is sent."""


class DeliveryError(SchemaError):
    """Kafka did not acknowledge a batch; its events stay buffered and the next flush retries them."""


class ClientClosed(SchemaError):
    """The client was closed; create a new one."""
