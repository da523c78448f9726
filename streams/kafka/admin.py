"""Creates Meterline's topics (docs/architecture.md §10) idempotently with the Kafka admin API."""

from __future__ import annotations

import contextlib

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from streams.errors import MeterlineError
from streams.settings import Settings
from streams.topics import TopicSpec, topic_specs


class KafkaAdminError(MeterlineError):
    """Topics could not be listed or created."""


async def ensure_topics(settings: Settings, specs: list[TopicSpec] | None = None) -> list[str]:
    """Create the missing topics; returns the names created now."""
    wanted = specs if specs is not None else topic_specs(settings)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=15000)
    try:
        await admin.start()
    except KafkaError as exc:
        raise KafkaAdminError(
            f"cannot reach Kafka at {settings.kafka_bootstrap}: {exc} "
            "(start the local stack with `meterline stack up` or set METERLINE_KAFKA_BOOTSTRAP)"
        ) from exc
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t.name not in existing]
        if missing:
            # Another worker may create them in between: that is fine.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [NewTopic(t.name, t.partitions, t.replication, topic_configs=t.config) for t in missing]
                )
        return [t.name for t in missing]
    finally:
        await admin.close()
