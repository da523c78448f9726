"""Builds the Faust app of one worker: the one composition root (docs/architecture.md §1, STYLE 2).

Kafka topics, the Faust app, RocksDB state and which sinks are plugged in are decided here and
nowhere else; the agents (``streams/ingest/agents.py``, ``streams/warehouse/agents.py``) stay a few lines each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import faust

from schemas.decode import DecodeLimits
from streams.ingest.dedupe import DedupeStore
from streams.ingest.step import IngestStep
from streams.kafka.polling import MeterlineApp
from streams.kafka.recovery import OrderedTableManager
from streams.settings import Settings
from streams.worker.metrics import WorkerMetrics


def faust_broker_url(bootstrap: str) -> str:
    """``host1:9092,host2:9092`` → Faust's ``kafka://host1:9092;kafka://host2:9092``."""
    hosts = [h.strip() for h in bootstrap.split(",") if h.strip()]
    return ";".join(h if "://" in h else f"kafka://{h}" for h in hosts)


def worker_dir(settings: Settings) -> Path:
    return (settings.data_dir / settings.worker_id).resolve()


def app_id(settings: Settings) -> str:
    """The consumer group. Role-split workers form one group per role: each group reads every
    partition of its own topics, and a worker of one role never gets partitions it has no agent for."""
    suffix = "" if settings.worker_role == "all" else f"-{settings.worker_role}"
    return f"{settings.topic_prefix}meterline{suffix}"


def create_faust_app(settings: Settings) -> faust.App:
    """A Faust app configured for at-least-once processing of batch records."""
    # Faust makes only the last level; a rate- or sink-only worker has nothing else that makes its parent.
    worker_dir(settings).mkdir(parents=True, exist_ok=True)
    return MeterlineApp(
        app_id(settings),
        broker=faust_broker_url(settings.kafka_bootstrap),
        store="rocksdb://",
        datadir=str(worker_dir(settings) / f"faust-{settings.worker_role}"),
        autodiscover=False,
        # At-least-once + dedupe + settlement (docs/architecture.md §9): faust's exactly_once has open bugs.
        processing_guarantee="at_least_once",
        # Faust's end of a rebalance could drop a record fetched mid-way for one agent (streams/kafka/recovery.py).
        TableManager=OrderedTableManager,
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=1.0,
        # A killed worker's partitions move to the others after this long (Kafka's group session).
        broker_session_timeout=settings.kafka_session_timeout_seconds,
        broker_heartbeat_interval=max(1.0, settings.kafka_session_timeout_seconds / 5),
        producer_acks=-1,
        producer_linger_ms=5,
        producer_max_request_size=8 * 1024 * 1024,
        # Not smaller (nor a shorter stream buffer below), though both bound prefetched memory: a rating
        # step takes what is buffered, and 2 MB (or 64 records) halved its events and the stage's speed.
        consumer_max_fetch_size=8 * 1024 * 1024,
        # Records carry hundreds of events: a short buffer bounds memory (~256 x 125 KB per topic).
        stream_buffer_maxsize=256,
        key_serializer="raw",
        value_serializer="raw",
        web_enabled=False,
        web_port=settings.web_port,
        web_host="127.0.0.1",
        table_cleanup_interval=60.0,
    )


@dataclass
class Wiring:
    """Everything the agents need, built once per worker."""

    settings: Settings
    app: faust.App
    metrics: WorkerMetrics
    dedupe: DedupeStore | None
    ingest: IngestStep | None

    def close(self) -> None:
        if self.dedupe is not None:
            self.dedupe.close()


def decode_limits(settings: Settings) -> DecodeLimits:
    return DecodeLimits(
        max_lateness=timedelta(days=settings.max_event_age_days),
        max_future=timedelta(seconds=settings.max_future_seconds),
        max_record_bytes=settings.max_record_bytes,
    )


def build_wiring(settings: Settings, metrics: WorkerMetrics | None = None) -> Wiring:
    app = create_faust_app(settings)
    dedupe, ingest = None, None
    if settings.worker_role in ("all", "ingest"):
        dedupe = DedupeStore(
            worker_dir(settings) / "dedupe",
            horizon=timedelta(hours=settings.dedupe_horizon_hours),
            now=datetime.now(UTC),
        )
        ingest = IngestStep(settings.topic_partitions, decode_limits(settings))
    return Wiring(settings, app, metrics or WorkerMetrics(), dedupe, ingest)
