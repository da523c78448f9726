"""Publishing a subscription version to ``billing.subscriptions``, carrying the account's history."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

from rating.subscriptions import SubscriptionVersion
from streams.kafka.admin import ensure_topics
from streams.kafka.compacted import read_to_end
from streams.settings import Settings
from streams.subscriptions.registry import decode_subscription, encode_subscription
from streams.topics import SUBSCRIPTIONS


async def publish_subscriptions(settings: Settings, versions: list[SubscriptionVersion]) -> list[bytes]:
    """Publish versions (in order); each record carries every earlier version of its account, since
    compaction keeps only the latest record per account."""
    await ensure_topics(settings)
    topic = settings.topic(SUBSCRIPTIONS)
    known: dict[str, list[SubscriptionVersion]] = {}
    for rec in await read_to_end(settings.kafka_bootstrap, topic):
        if rec.key and rec.value:
            known[rec.key.decode()] = decode_subscription(rec.value)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    sent = []
    try:
        for v in versions:
            history = [*known.get(v.account_id, []), v]
            known[v.account_id] = history
            value = encode_subscription(v, history)
            await producer.send_and_wait(topic, value, key=v.account_id.encode())
            sent.append(value)
    finally:
        await producer.stop()
    return sent
