"""Kafka plumbing shared by the stages: topic creation, batch helpers, reading a compacted topic
from the start, the forwarder that produces events, and the faust/aiokafka internals we rely on, each
behind a named wrapper (``internals``)."""
