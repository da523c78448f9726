"""The broker is real: produce to and consume from a topic created for this run."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from streams.kafka.admin import ensure_topics
from streams.settings import Settings
from streams.topics import ALL, COMPACTED

pytestmark = pytest.mark.integration


async def test_produce_and_consume_on_the_real_broker(stack_settings: Settings) -> None:
    topic = f"{stack_settings.topic_prefix}roundtrip-{uuid.uuid4().hex[:6]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=stack_settings.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 2, 1)])
        producer = AIOKafkaProducer(bootstrap_servers=stack_settings.kafka_bootstrap, enable_idempotence=True)
        await producer.start()
        try:
            for i in range(10):
                await producer.send_and_wait(topic, f"v{i}".encode(), key=f"k{i % 3}".encode())
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=stack_settings.kafka_bootstrap,
            auto_offset_reset="earliest",
            group_id=f"g-{uuid.uuid4().hex[:6]}",
            enable_auto_commit=False,
        )
        await consumer.start()
        got: list[bytes] = []
        try:
            while len(got) < 10:
                batch = await consumer.getmany(timeout_ms=10_000)
                assert batch, "no records within 10 s"
                got.extend(r.value for recs in batch.values() for r in recs)
        finally:
            await consumer.stop()
        assert sorted(got) == sorted(f"v{i}".encode() for i in range(10))
    finally:
        await admin.delete_topics([topic])
        await admin.close()


async def test_ensure_topics_creates_the_design_topics_once(stack_settings: Settings) -> None:
    stack_settings = stack_settings.model_copy(update={"topic_prefix": stack_settings.topic_prefix + "admin."})
    created = await ensure_topics(stack_settings)
    assert sorted(created) == sorted(stack_settings.topic(n) for n in ALL)
    assert await ensure_topics(stack_settings) == []
    admin = AIOKafkaAdminClient(bootstrap_servers=stack_settings.kafka_bootstrap)
    await admin.start()
    try:
        from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

        name = stack_settings.topic(next(iter(COMPACTED)))
        res = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
        entries = {e[0]: e[1] for e in res[0].resources[0][4]}
        assert entries["cleanup.policy"] == "compact"
    finally:
        await admin.close()
