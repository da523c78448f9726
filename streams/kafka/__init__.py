"""Kafka plumbing shared by the stages: topic creation, batch helpers, reading a compacted topic
from the start, and the forwarder that produces events."""
