"""Subscription versions on Kafka: the registry read from the compacted topic and its publisher."""
