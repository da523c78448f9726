"""The billing API's composition: store, catalog, live quota view, ClickHouse reads, outbox relay, routes.

``create_app(settings)`` builds the ASGI app; its lifespan migrates nothing (``create_app`` already
did), starts the quota-state follower, the outbox relay (Kafka) and the Stripe mirror's relay, and stops
them. Tests pass their own
clock, publisher or warehouse connection; everything else is the production path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import stripe
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rating.catalog.loader import load_catalog
from sinks.stripe.client import stripe_client as new_stripe_client
from sinks.stripe.subscriptions import StripeSubscriptions
from streams.api.ai_cap_watch import AiCapWatcher
from streams.api.context import ApiContext
from streams.api.errors import EXCEPTION_HANDLERS, JSON, ApiError, error_response
from streams.api.limits import ApiLimits
from streams.api.metrics import CountResponses
from streams.api.notice_attachments import invoice_pdf_attachments
from streams.api.outbox_metrics import OutboxGauges
from streams.api.quota_view import QuotaView
from streams.api.routes import addons as addons_routes
from streams.api.routes import ai_access as ai_access_routes
from streams.api.routes import ai_controls as ai_controls_routes
from streams.api.routes import audit as audit_routes
from streams.api.routes import branding as branding_routes
from streams.api.routes import budgets as budgets_routes
from streams.api.routes import contracts as contracts_routes
from streams.api.routes import credit_grants as credit_grants_routes
from streams.api.routes import credit_notes as credit_notes_routes
from streams.api.routes import forecast as forecast_routes
from streams.api.routes import invitations as invitations_routes
from streams.api.routes import invoice_reissue as invoice_reissue_routes
from streams.api.routes import invoices as invoices_routes
from streams.api.routes import org_analytics as org_analytics_routes
from streams.api.routes import org_usage as org_usage_routes
from streams.api.routes import org_usage_stream as org_usage_stream_routes
from streams.api.routes import orgs as orgs_routes
from streams.api.routes import payment_methods as payment_methods_routes
from streams.api.routes import people as people_routes
from streams.api.routes import plans as plans_routes
from streams.api.routes import preview as preview_routes
from streams.api.routes import record as record_routes
from streams.api.routes import session as session_routes
from streams.api.routes import subscriptions as subscriptions_routes
from streams.api.routes import usage as usage_routes
from streams.api.routes import usage_breakdown as usage_breakdown_routes
from streams.api.routes import usage_share as usage_share_routes
from streams.api.routes import usage_stream as usage_stream_routes
from streams.api.routes import webhook_endpoints as webhook_endpoints_routes
from streams.api.routes import webhooks as webhooks_routes
from streams.api.routing import Endpoint, openapi, routes
from streams.api.store_cache import StoreCache
from streams.api.warehouse import Warehouse
from streams.api.web_app import web_routes
from streams.dunning.charge import stripe_charger
from streams.dunning.refunds import stripe_refunder
from streams.dunning.runner import DunningRunner
from streams.ingest.service import Forwarder
from streams.notify.relays import EmailRelay, WebhookRelay
from streams.notify.settings import smtp_settings
from streams.settings import Settings
from streams.store.db import database_url, make_engine, migrate, sessions
from streams.store.relays.outbox import OutboxRelay, Publish
from streams.store.relays.quota_records import QuotaRecordRelay, kafka_publisher
from streams.store.relays.stripe_mirror import StripeMirrorRelay
from streams.worker.app import decode_limits

log = logging.getLogger(__name__)

OPENAPI_PATH = "/api/billing/openapi.json"
ENDPOINTS: list[Endpoint] = [
    *subscriptions_routes.ENDPOINTS,
    *contracts_routes.ENDPOINTS,
    *addons_routes.ENDPOINTS,
    *credit_grants_routes.ENDPOINTS,
    *orgs_routes.ENDPOINTS,
    *invitations_routes.ENDPOINTS,
    *webhook_endpoints_routes.ENDPOINTS,
    *usage_routes.ENDPOINTS,
    *record_routes.ENDPOINTS,
    *invoices_routes.ENDPOINTS,
    *forecast_routes.ENDPOINTS,
    *usage_breakdown_routes.ENDPOINTS,
    *usage_share_routes.ENDPOINTS,
    *budgets_routes.ENDPOINTS,
    *credit_notes_routes.ENDPOINTS,
    *invoice_reissue_routes.ENDPOINTS,
    *audit_routes.ENDPOINTS,
    *ai_controls_routes.ENDPOINTS,
    *ai_access_routes.ENDPOINTS,
    *people_routes.ENDPOINTS,
    *org_usage_routes.ENDPOINTS,
    *org_analytics_routes.ENDPOINTS,
    *branding_routes.ENDPOINTS,
    *webhooks_routes.ENDPOINTS,
    *session_routes.ENDPOINTS,
    *plans_routes.ENDPOINTS,
    *preview_routes.ENDPOINTS,
    *usage_stream_routes.ENDPOINTS,
    *org_usage_stream_routes.ENDPOINTS,
    *payment_methods_routes.ENDPOINTS,
]
INFO = {
    "title": "Meterline billing API",
    "version": "1",
    "description": "Subscriptions and their lifecycle, organizations and members, entitlements, live and settled "
    'usage, invoices and Stripe webhooks. Every 4xx and 5xx answer is {"error": {"code", "message"}}. '
    "Money and quantities are decimal strings; times are RFC 3339 UTC.",
}


def build_openapi() -> dict[str, Any]:
    return openapi(ENDPOINTS, INFO)


class BodyLimit:
    """Refuses bodies over ``limit`` bytes with 413: by Content-Length at once, else while streaming."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and (not value.isdigit() or int(value) > self.limit):
                resp = error_response(413, "body_too_large", f"the body exceeds {self.limit} bytes")
                await resp(scope, receive, send)
                return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise ApiError(413, "body_too_large", f"the body exceeds {self.limit} bytes")
            return message

        await self.app(scope, limited, send)


def create_app(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    publish: Publish | None = None,
    warehouse: Warehouse | None = None,
    follow_quota: bool = True,
    run_relay: bool = True,
    forwarder: Forwarder | None = None,
    mirror_stripe: bool = True,
    stripe_client: stripe.StripeClient | None = None,
) -> Starlette:
    """``mirror_stripe=False`` leaves the Stripe outbox rows unsent by the lifespan (tests that do not look
    at Stripe); ``app.state.stripe_mirror`` can still drain them."""
    url = settings.api_database_url.get_secret_value() if settings.api_database_url else None
    engine = make_engine(database_url(settings.data_dir, url))
    migrate(engine)
    quota = QuotaView()
    owns_warehouse = warehouse is None
    kafka_forwarder: record_routes.LazyKafkaForwarder | None = None
    if forwarder is None:  # the production path: usage.events of the settings' Kafka
        forwarder = kafka_forwarder = record_routes.LazyKafkaForwarder(settings)
    ctx = ApiContext(
        settings=settings,
        sessions=sessions(engine),
        catalog=load_catalog(settings.catalog_path),
        quota=quota,
        warehouse=warehouse or Warehouse(settings),
        clock=clock,
        jwt_secret=settings.api_jwt_secret.get_secret_value() if settings.api_jwt_secret else None,
        webhook_secret=settings.stripe_webhook_secret.get_secret_value() if settings.stripe_webhook_secret else None,
        grace=settings.dunning_schedule.grace,
        ingest=record_routes.ingest_app(forwarder, decode_limits(settings), clock),
        limits=ApiLimits(
            settings.auth_failures_per_minute,
            stripe_per_minute=settings.api_stripe_calls_per_minute,
            streams_per_account=settings.api_streams_per_account,
            drafts_per_minute=settings.api_drafts_per_minute,
        ),
        cache=StoreCache(settings.api_cache_seconds),
    )

    async def default_publish(versions: list[Any]) -> object:
        from streams.subscriptions.publish import publish_subscriptions

        return await publish_subscriptions(settings, versions)

    ctx.cache.watch(engine)  # every write through this process invalidates it (streams/api/store_cache.py)
    ctx.metrics.registry.register(OutboxGauges(ctx.sessions, clock))  # read at each scrape of its metrics
    relay = OutboxRelay(ctx.sessions, publish or default_publish, clock=clock)
    quota_relay = QuotaRecordRelay(ctx.sessions, kafka_publisher(settings), clock=clock)  # AI controls, caps
    client = stripe_client or new_stripe_client(
        settings.stripe_api_key.get_secret_value(), settings.resolved_stripe_api_base
    )
    ctx.stripe = client
    stripe_mirror = StripeMirrorRelay(
        ctx.sessions, StripeSubscriptions(client, automatic_tax=settings.stripe_automatic_tax), ctx.catalog, clock=clock
    )
    email_relay = EmailRelay(
        ctx.sessions,
        smtp_settings(settings),
        attachments=invoice_pdf_attachments(ctx.warehouse, settings, ctx.catalog),
        clock=clock,
    )
    webhook_relay = WebhookRelay(ctx.sessions, clock=clock, allow_private=settings.webhook_allow_private_targets)
    dunning = DunningRunner(
        ctx.sessions,
        settings.dunning_schedule,
        charge=stripe_charger(client, ctx.warehouse.stripe_invoice),
        finalized=ctx.warehouse.finalized_since,
        catalog=ctx.catalog,
        mirror=lambda: ctx.warehouse.mirror_receivables(ctx.sessions),
        clock=clock,
        on_change=lambda: ctx.notify_outbox(),
        refund=stripe_refunder(client),
    )
    ai_caps = AiCapWatcher(ctx.sessions, ctx.warehouse, ctx.catalog, clock, on_new=lambda: ctx.notify_outbox())
    spec = build_openapi()

    async def openapi_json(_: Request) -> Response:
        return JSON(spec)

    async def health(_: Request) -> Response:
        return JSON({"status": "ok", "quota_state": "ready" if quota.ready.is_set() else "loading"})

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()

        def wake_kafka() -> None:
            loop.call_soon_threadsafe(relay.wake.set)
            loop.call_soon_threadsafe(quota_relay.wake.set)

        def notify() -> None:
            wake_kafka()
            loop.call_soon_threadsafe(stripe_mirror.wake.set)
            loop.call_soon_threadsafe(email_relay.wake.set)
            loop.call_soon_threadsafe(webhook_relay.wake.set)

        def wake_ai_caps() -> None:
            loop.call_soon_threadsafe(ai_caps.wake.set)

        ctx.notify_outbox = notify
        ctx.notify_ai_caps = wake_ai_caps
        stripe_mirror.notify = wake_kafka  # versions carrying new Stripe ids are published at once
        stop = asyncio.Event()
        tasks = []
        if run_relay:
            tasks.append(asyncio.create_task(relay.run(stop, settings.api_outbox_interval_seconds)))
            tasks.append(asyncio.create_task(quota_relay.run(stop, settings.api_outbox_interval_seconds)))
            if mirror_stripe:
                tasks.append(asyncio.create_task(stripe_mirror.run(stop, settings.api_outbox_interval_seconds)))
            tasks.append(asyncio.create_task(dunning.run(stop, settings.dunning_interval_seconds)))
            tasks.append(asyncio.create_task(ai_caps.run(stop, settings.ai_cap_check_seconds)))
            if settings.notify_relays:
                tasks.append(asyncio.create_task(email_relay.run(stop, settings.api_outbox_interval_seconds)))
                tasks.append(asyncio.create_task(webhook_relay.run(stop, settings.api_outbox_interval_seconds)))
        if follow_quota:
            tasks.append(asyncio.create_task(_follow_quota(settings, quota, stop)))
            if settings.notify_relays:  # usage alerts to emails and webhooks (docs/notifications.md)
                tasks.append(asyncio.create_task(_follow_alerts(settings, ctx, stop, notify)))
        try:
            yield
        finally:
            stop.set()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(t, timeout=10)
            if kafka_forwarder is not None:
                with contextlib.suppress(Exception):
                    await kafka_forwarder.stop()
            if owns_warehouse:
                ctx.warehouse.close()
            engine.dispose()

    app = Starlette(
        routes=[
            *routes(ENDPOINTS, ctx),
            Route(OPENAPI_PATH, openapi_json, methods=["GET"]),
            Route("/api/billing/healthz", health, methods=["GET"]),
            *web_routes(settings, ctx.sessions, clock, ctx.limits),
        ],
        middleware=[  # outermost first: the count includes what the body limit refuses
            Middleware(CountResponses, metrics=ctx.metrics),
            Middleware(BodyLimit, limit=settings.api_max_body_bytes),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.ctx, app.state.relay, app.state.engine = ctx, relay, engine
    app.state.stripe_mirror = stripe_mirror
    app.state.email_relay, app.state.webhook_relay = email_relay, webhook_relay
    app.state.dunning = dunning
    app.state.ai_caps = ai_caps
    app.state.quota_relay = quota_relay
    return app


async def _follow_alerts(settings: Settings, ctx: ApiContext, stop: asyncio.Event, wake: Any) -> None:
    from streams.notify.alerts import follow_alerts
    from streams.topics import ALERTS

    delay = 1.0
    while not stop.is_set():
        try:
            await follow_alerts(
                settings.kafka_bootstrap,
                settings.topic(ALERTS),
                settings.topic("meterline-notify"),
                ctx.sessions,
                ctx.clock,
                stop,
                wake,
            )
        except Exception as exc:
            log.warning("usage.alerts follower: %s; retrying in %.0fs", exc, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
            delay = min(delay * 2, 30.0)


async def _follow_quota(settings: Settings, quota: QuotaView, stop: asyncio.Event) -> None:
    """Follow billing.quota-state; when Kafka is down, retry (the entitlement check answers from what is known)."""
    from streams.kafka.admin import ensure_topics
    from streams.topics import QUOTA_STATE

    delay = 1.0
    while not stop.is_set():
        try:
            await ensure_topics(settings)
            await quota.follow(settings.kafka_bootstrap, settings.topic(QUOTA_STATE), stop)
        except Exception as exc:
            quota.error = str(exc)
            log.warning("quota-state follower: %s; retrying in %.0fs", exc, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
            delay = min(delay * 2, 30.0)
