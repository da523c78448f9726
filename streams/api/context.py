"""What every handler gets: settings, the store, the catalog, the live quota view, ClickHouse reads,
the clock and the outbox relay's wake-up (the composition root builds it in ``app``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import anyio
from sqlalchemy.orm import Session, sessionmaker

from rating.catalog.loader import Catalog
from streams.api.limits import ApiLimits
from streams.api.metrics import ApiMetrics
from streams.api.quota_view import QuotaView
from streams.api.store_cache import StoreCache
from streams.api.warehouse import Warehouse
from streams.ingest.service import Ingest
from streams.settings import Settings


@dataclass
class ApiContext:
    settings: Settings
    sessions: sessionmaker[Session]
    catalog: Catalog
    quota: QuotaView
    warehouse: Warehouse
    clock: Callable[[], datetime]
    jwt_secret: str | None
    webhook_secret: str | None
    grace: timedelta
    ingest: Ingest  # the ingest service behind POST /usage/record (see routes/record.py)
    notify_outbox: Callable[[], None] = lambda: None
    notify_ai_caps: Callable[[], None] = lambda: None  # an AI cap changed: the cap watcher re-checks now
    limits: ApiLimits = field(default_factory=lambda: ApiLimits(30))
    limiter: anyio.CapacityLimiter = field(default_factory=lambda: anyio.CapacityLimiter(16))
    metrics: ApiMetrics = field(default_factory=ApiMetrics)
    # credentials, access, histories (the gateway check): off unless create_app wires its invalidation
    cache: StoreCache = field(default_factory=lambda: StoreCache(0))
    stripe: Any = None  # the StripeClient of the API's Stripe calls (payment methods); create_app sets it
