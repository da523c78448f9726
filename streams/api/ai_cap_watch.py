"""The AI cap watcher of the billing API: every ``METERLINE_AI_CAP_CHECK_SECONDS`` it reads the period's AI use
of each organization with a monthly cap and enqueues an ``ai_cap_alert`` notice for each threshold newly crossed
(``streams/notify/ai_caps.py``; docs/ai-controls.md). Refusing past a hard cap is the entitlement answer's."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from rating.ai_caps import reached
from rating.catalog.loader import Catalog
from schemas import ai_rules
from streams.api.common import account_terms
from streams.api.org_usage import load_org_usage
from streams.api.warehouse import Warehouse
from streams.notify.ai_caps import enqueue_ai_cap_alerts
from streams.store import ai_controls
from streams.store.relays import quota_records
from streams.store.relays.loop import run_relay


class AiCapWatcher:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        warehouse: Warehouse,
        catalog: Catalog,
        clock: Callable[[], datetime],
        on_new: Callable[[], None] = lambda: None,
    ) -> None:
        self.sessions, self.warehouse, self.catalog, self.clock = sessions, warehouse, catalog, clock
        self.on_new = on_new
        self.wake = asyncio.Event()
        # What the last ``ai_cap`` record of each (organization, row) said (empty after a start: all re-sent).
        self.published: dict[tuple[str, str], bool] = {}

    def run_once(self) -> list[str]:
        """The keys of the alerts enqueued this round (a crossing is enqueued once: its key is unique). It also
        writes an ``ai_cap`` record (schemas/ai_rules.py) for each row whose hard cap state changed, for gateways
        that check locally (docs/gateways.md)."""
        now = self.clock()
        catalog = self.catalog.at(now)
        with self.sessions() as s:
            capped = ai_controls.capped_organizations(s)
        new: list[str] = []
        states: dict[tuple[str, str], tuple[bool, str]] = {
            k: (False, "")
            for k, hit in self.published.items()
            if hit and k[0] not in capped  # cap removed
        }
        for org in capped:
            with self.sessions() as s:
                period = account_terms(s, catalog, org, now).period(now)
            usage = load_org_usage(self.warehouse, catalog.ai_costs, org, period, now)  # outside a transaction
            with self.sessions.begin() as s:
                for row in ai_controls.for_organization(s, org):
                    cap = ai_controls.cap_of(row)
                    use = usage.ai if row.user_id == ai_controls.ORG else usage.ai_of(row.user_id)
                    if cap.any:
                        new += enqueue_ai_cap_alerts(s, org, row.user_id, period.key, cap, use, now)
                    states[(org, row.user_id)] = (cap.hard and bool(reached(cap, use)), period.key)
        changed = {k: v for k, v in states.items() if self.published.get(k) != v[0]}
        if changed:
            with self.sessions.begin() as s:
                for (org, user), (hit, period_key) in changed.items():
                    record = ai_rules.cap_record(org, user, hit, period_key, now.isoformat())
                    quota_records.enqueue(s, ai_rules.cap_key(org, user), record, now)
            self.published.update({k: hit for k, (hit, _) in changed.items()})
        if new or changed:
            self.on_new()
        return new

    async def run(self, stop: asyncio.Event, interval: float) -> None:
        async def check() -> int:
            return len(await asyncio.to_thread(self.run_once))

        await run_relay("AI cap watcher", check, self.wake, stop, interval, max_backoff=300.0)
