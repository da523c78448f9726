"""The topic names fixed by docs/architecture.md §10 and how Meterline creates them.

Only ``streams/`` knows topics; other packages get bytes and names handed in.
"""

from __future__ import annotations

from dataclasses import dataclass

from streams.settings import Settings

EVENTS = "usage.events"
EVENTS_DLQ = "usage.events.dlq"
ACCEPTED = "usage.accepted"
RATED = "usage.rated"
ALERTS = "usage.alerts"
SUBSCRIPTIONS = "billing.subscriptions"
QUOTA_STATE = "billing.quota-state"

#: Topics whose records are the latest state per key (docs/architecture.md §10).
COMPACTED = frozenset({SUBSCRIPTIONS, QUOTA_STATE})
ALL = (EVENTS, EVENTS_DLQ, ACCEPTED, RATED, ALERTS, SUBSCRIPTIONS, QUOTA_STATE)


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    compacted: bool
    replication: int = 1

    @property
    def config(self) -> dict[str, str]:
        if self.compacted:
            return {"cleanup.policy": "compact", "min.compaction.lag.ms": "60000"}
        return {}


def topic_specs(settings: Settings) -> list[TopicSpec]:
    """Every topic of docs/architecture.md §10 with the configured prefix and partition count."""
    return [
        TopicSpec(settings.topic(n), settings.topic_partitions, n in COMPACTED, settings.topic_replication) for n in ALL
    ]
