"""Typed settings, read once at the edge from ``METERLINE_*`` variables and an optional ``.env``.

Secrets are ``SecretStr`` so they never show in reprs, logs or ``--json`` output.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from rating.dunning import DunningSchedule, parse_days
from streams.pids import pid_alive


class Settings(BaseSettings):
    """Everything Meterline reads from its environment."""

    model_config = SettingsConfigDict(
        env_prefix="METERLINE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Field(Path("var"), description="Working data: broker logs, chDB files, RocksDB tables.")
    cache_dir: Path = Field(Path(".cache"), description="Downloaded Kafka jars and the stripe-mock binary.")

    kafka_bootstrap: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers, comma-separated.")
    topic_prefix: str = Field("", description="Prefix put before every topic name (e.g. 'staging.').")
    topic_partitions: int = Field(4, ge=1, description="Partitions of the topics Meterline creates.")
    topic_replication: int = Field(1, ge=1, description="Replication factor of the topics Meterline creates.")
    kafka_session_timeout_seconds: float = Field(
        15.0, ge=6, le=300, description="Consumer-group session: how soon a dead worker's partitions move."
    )

    clickhouse_dsn: str | None = Field(
        None, description="ClickHouse DSN; default embedded chDB at chdb:///<data_dir>/clickhouse."
    )
    clickhouse_database: str = Field("meterline", description="ClickHouse database holding Meterline's tables.")

    stripe_api_key: SecretStr = Field(SecretStr("sk_test_123"), description="Stripe secret or restricted key.")
    stripe_api_base: str | None = Field(
        None, description="Stripe API base URL; default the local stripe-mock (http://127.0.0.1:<port>)."
    )

    metrics_host: str = Field("127.0.0.1", description="Address the metrics endpoint binds (0.0.0.0 in containers).")
    metrics_port: int = Field(9464, ge=0, le=65535, description="Prometheus metrics port of a worker (0: off).")
    web_port: int = Field(6066, ge=0, le=65535, description="Faust web port of a worker.")
    http_ingest_port: int = Field(8088, ge=1, le=65535, description="Port of the HTTP ingest server.")
    http_ingest_metrics_port: int = Field(
        9465, ge=0, le=65535, description="Prometheus port of the HTTP ingest server, on metrics_host (0: off)."
    )
    http_ingest_rate_per_minute: int = Field(
        6000, ge=0, description="Requests a minute per ingest key (burst as large); a key's own limit wins; 0: none."
    )
    auth_failures_per_minute: int = Field(
        30, ge=0, description="Failed credentials a minute per client address before 429 (both servers); 0: none."
    )
    api_usage_history_max_rows: int = Field(
        100_000,
        ge=1,
        description="The most rows of usage by day one usage history answer reads (422 too_many_rows beyond: a "
        "shorter range, one metric or one user).",
    )
    api_drafts_per_minute: int = Field(
        120,
        ge=0,
        description="Requests a minute per billing account to the routes that compute invoices to come over the "
        "warehouse (upcoming invoice, forecast, recommendations, subscription previews, analytics); 0: none.",
    )
    api_streams_per_account: int = Field(
        20,
        ge=0,
        description="Live usage streams (server-sent events) one account may have open at once per API process "
        "(429 too_many_streams beyond); 0: no limit.",
    )
    api_stripe_calls_per_minute: int = Field(
        30,
        ge=0,
        description="Requests a minute per billing account to the billing API's routes that call Stripe (payment "
        "methods, paying an invoice): Stripe rate-limits the platform's account as a whole; 0: none.",
    )

    # Ingest (docs/architecture.md §3, §9): records carry batches; the agent takes many records per step.
    worker_role: Literal["all", "ingest", "rate", "sink"] = Field(
        "all", description="What a worker runs: everything, or only ingest, live rating or the ClickHouse sinks."
    )
    catalog_path: Path | None = Field(None, description="Catalog TOML file; default the one shipped in rating/.")
    worker_id: str = Field(
        "w1", description="Name of this worker; its RocksDB state lives under <data_dir>/<worker_id>."
    )
    ingest_take_records: int = Field(200, ge=1, description="Kafka records taken per ingest step.")
    ingest_linger_seconds: float = Field(0.05, gt=0, description="Longest wait to fill an ingest step.")
    sink_take_records: int = Field(400, ge=1, description="Kafka records per ClickHouse insert.")
    sink_linger_seconds: float = Field(0.25, gt=0, description="Longest wait to fill a ClickHouse insert.")
    rate_take_records: int = Field(
        400, ge=1, description="usage.accepted records (up to 1,000 events each) per rating step."
    )
    # 0.5, not 0.25: larger backlog steps, ≈ 12 % more end to end, no latency cost measured (docs/performance.md).
    live_kernel: bool = Field(
        True,
        description="Rate the live stage's plain counter groups with the native kernel (rating/live/kernel) when it "
        "is installed; false: every group in Python (the same results).",
    )
    rate_linger_seconds: float = Field(
        0.5,
        gt=0,
        description="Longest wait to fill a rating step: bounds the event-to-quota latency; longer steps "
        "rate more events per account and write each account's state once.",
    )
    dedupe_horizon_hours: int = Field(48, ge=1, description="How long a (source, event_id) is remembered live.")
    max_event_age_days: int = Field(35, ge=1, description="Older events are rejected as too_late.")
    max_future_seconds: int = Field(300, ge=0, description="Events further ahead of the clock are rejected.")
    max_record_bytes: int = Field(1_048_576, ge=1024, description="Larger Kafka records are rejected whole.")

    stall_exit_seconds: float = Field(
        120.0,
        ge=0,
        description="A worker with no partitions assigned this long exits (code 70) to be restarted; 0: never. "
        "Run no more workers per group than partitions.",
    )

    # Settlement (docs/architecture.md §7): money comes from ClickHouse once a window's lateness allowance passed.
    settle_lateness_seconds: int = Field(3600, ge=0, description="How long after an hour ends it is settled.")
    settle_grace_hours: int = Field(24, ge=0, description="How long after a period ends its invoice is final.")
    settle_interval_seconds: float = Field(
        60.0, gt=0, description="How often the sink worker settles closed windows (0 < s)."
    )

    stripe_report: bool = Field(
        True, description="Send settled usage (meters) and invoiced tiers' invoices to Stripe (the sink worker)."
    )
    stripe_concurrency: int = Field(8, ge=1, le=64, description="Stripe calls in flight at once (reporting).")
    stripe_rate_per_second: float = Field(
        20.0, gt=0, description="Client-side limit on Stripe calls (test mode allows about 25/s, live 1,000/s)."
    )

    # Billing API (issue 6; streams/api): its relational store, credentials and limits.
    api_database_url: SecretStr | None = Field(
        None,
        description="Billing store (SQLAlchemy URL, e.g. postgresql+psycopg://u:p@host/db); "
        "default embedded SQLite at <data_dir>/billing.db.",
    )
    api_host: str = Field("127.0.0.1", description="Address `meterline api serve` binds (0.0.0.0 in containers).")
    api_port: int = Field(8090, ge=1, le=65535, description="Port of the billing API.")
    api_jwt_secret: SecretStr | None = Field(
        None, description="HS256 key of the platform's JWTs (claims sub, org, exp); unset: API keys only."
    )
    api_jwt_issuer: str | None = Field(None, description="Required 'iss' of the platform's JWTs (unset: not checked).")
    api_jwt_audience: str | None = Field(
        None, description="Required 'aud' of the platform's JWTs (unset: a token with an 'aud' is refused)."
    )
    api_jwt_max_lifetime_seconds: int = Field(
        86_400, ge=0, description="Longest JWT lifetime accepted (exp - iat, or exp - now without iat); 0: any."
    )
    stripe_webhook_secret: SecretStr | None = Field(
        None, description="Signing secret (whsec_...) of the Stripe webhook endpoint; unset: webhooks refused."
    )
    stripe_automatic_tax: bool = Field(
        False, description="Ask Stripe Tax to add tax to the invoices and subscriptions Stripe collects."
    )
    tax_table: Path | None = Field(
        None,
        description="Tax rates of self-issued invoices (TOML, docs/invoices.md); the settling worker reads "
        "buyers' addresses from the billing store (METERLINE_API_DATABASE_URL). Default: no tax.",
    )
    seller_name: str = Field("Meterline", description="The seller's name printed on invoice PDFs.")
    seller_address: str = Field(
        "", description="The seller's postal address on invoice PDFs, lines separated by '|' or newlines."
    )
    seller_tax_id: str | None = Field(None, description="The seller's tax id (VAT, EIN, ...) on invoice PDFs.")
    seller_email: str | None = Field(None, description="The seller's billing contact on invoice PDFs.")
    invoice_payment_instructions: str | None = Field(
        None,
        description="'How to pay' on invoice PDFs (e.g. bank details for wire transfers); default: card on file.",
    )
    api_max_body_bytes: int = Field(65_536, ge=1024, description="Larger request bodies are refused with 413.")
    # Dunning (rating/dunning.py, docs/notifications.md "Dunning"): run by the billing API's collection loop.
    dunning_retry_days: str = Field(
        "1,3,5,7",
        description="Days after a failed payment on which it is retried with a notice; past_due meanwhile, "
        "unpaid after the last (Stripe's Smart Retries retry what Stripe collects).",
    )
    dunning_reminder_days: str = Field(
        "-3,1,7,14", description="Days from a net-terms invoice's due date on which a reminder goes out (- = before)."
    )
    dunning_past_due_after_days: int = Field(
        30, ge=0, le=365, description="Days an invoiced account's invoice may be overdue before it goes past_due."
    )
    dunning_interval_seconds: float = Field(60.0, gt=0, description="How often the collection loop looks for work.")
    ai_cap_check_seconds: float = Field(
        15.0, gt=0, description="How often the billing API checks organizations' monthly AI caps and raises alerts."
    )
    renewal_notice_days: int = Field(
        30, ge=1, le=120, description="Days before an annual plan renews that its account gets a renewal notice."
    )
    api_invitation_ttl_days: int = Field(
        7, ge=1, le=90, description="Days an organization invitation may be accepted (resend gives it a new term)."
    )
    api_keys_per_organization: int = Field(
        50,
        ge=1,
        description="Active (unrevoked) API keys one organization may have (409 too_many_api_keys beyond: revoke "
        "one), so that no admin or stolen admin key fills the billing store.",
    )
    api_pending_invitations_per_organization: int = Field(
        200,
        ge=1,
        description="Pending, unexpired invitations one organization may have (409 too_many_invitations beyond: "
        "revoke some or let them expire).",
    )
    # The web app (docs/web-app-server.md): served under /app/, signed in by one-time links.
    api_web_dist: Path | None = Field(
        None, description="The built web app (web/dist) served under /app/; default web/dist of the checkout."
    )
    api_public_url: str = Field(
        "http://127.0.0.1:8090",
        description="The billing API's address as browsers reach it: login links point there; https makes the "
        "session cookie Secure.",
    )
    api_login_link_ttl_seconds: int = Field(
        900, ge=30, le=86_400, description="Seconds a one-time login link may be used (once)."
    )
    api_session_ttl_seconds: int = Field(
        28_800, ge=60, le=2_592_000, description="Seconds a web app session lasts after sign-in (then sign in again)."
    )
    audit_retention_days: int = Field(
        400, ge=1, le=3650, description="Days the audit log keeps an entry (`meterline audit prune`; docs/audit.md)."
    )
    recommendation_min_saving: Decimal = Field(
        Decimal("10"),
        ge=0,
        le=Decimal("1e9"),
        description="Cost recommendations are shown only when they save at least this much (currency units; "
        "docs/forecasting.md).",
    )
    api_outbox_interval_seconds: float = Field(
        2.0, gt=0, description="How often the outbox relay retries publishing to billing.subscriptions."
    )
    # Notifications (docs/notifications.md): emails through SMTP, outgoing webhooks; both sent by the API's relays.
    smtp_host: str = Field("127.0.0.1", description="SMTP server of notice emails (the stack's local one by default).")
    smtp_port: int = Field(8025, ge=1, le=65535, description="SMTP port (587 with starttls, 465 with implicit TLS).")
    smtp_tls: Literal["none", "starttls", "implicit"] = Field("none", description="TLS to the SMTP server.")
    smtp_username: str | None = Field(None, description="SMTP user name (no login when unset).")
    smtp_password: SecretStr | None = Field(None, description="SMTP password.")
    smtp_sender: str = Field("billing@meterline.local", description="From address of notice emails.")
    notify_relays: bool = Field(True, description="Run the email and webhook relays in the billing API process.")
    webhook_allow_private_targets: bool = Field(
        False,
        description="Let outgoing webhooks go to loopback, private and link-local addresses (local development and "
        "tests only: in production a tenant could make the platform call its own services, docs/security.md).",
    )
    api_cache_seconds: float = Field(
        2.0,
        ge=0,
        le=60,
        description="Longest time an API process answers from its cached credentials, access and subscriptions "
        "after another process changed them (its own changes apply at once); 0: no cache.",
    )

    # Local stack (deploy/local): ports bound on 127.0.0.1 only.
    local_kafka_port: int = Field(9092, ge=1, le=65535)
    local_kafka_controller_port: int = Field(9093, ge=1, le=65535)
    local_kafka_heap: str = Field("512m", description="JVM heap of the local broker.")
    local_stripe_mock_port: int = Field(12111, ge=1, le=65535)
    local_stripe_mock_https_port: int = Field(12112, ge=1, le=65535)
    local_warehouse_port: int = Field(
        8123, ge=1, le=65535, description="Port of the local ClickHouse-over-HTTP bridge to chDB."
    )

    @field_validator("dunning_retry_days", "dunning_reminder_days")
    @classmethod
    def _days(cls, v: str, info: Any) -> str:
        parse_days(v, allow_negative=info.field_name == "dunning_reminder_days")  # refused at start, not later
        return v

    @property
    def dunning_schedule(self) -> DunningSchedule:
        return DunningSchedule(
            retry_days=parse_days(self.dunning_retry_days),
            reminder_days=parse_days(self.dunning_reminder_days, allow_negative=True),
            past_due_after_days=self.dunning_past_due_after_days,
            renewal_notice_days=self.renewal_notice_days,
        )

    @property
    def resolved_clickhouse_dsn(self) -> str:
        if self.clickhouse_dsn:
            return self.clickhouse_dsn
        return f"chdb://{(self.data_dir / 'clickhouse').resolve()}"

    @property
    def resolved_stripe_api_base(self) -> str:
        return self.stripe_api_base or f"http://127.0.0.1:{self.local_stripe_mock_port}"

    def topic(self, name: str) -> str:
        """The full name of one of the topics fixed by docs/architecture.md §10."""
        return f"{self.topic_prefix}{name}"


def load_settings(**overrides: object) -> Settings:
    """Read the settings once (the CLI and tests pass overrides explicitly)."""
    return Settings(**overrides)  # type: ignore[arg-type]


#: Where the local stack's warehouse bridge (``deploy/local/warehouse.py``) advertises itself.
WAREHOUSE_INFO = Path("warehouse") / "warehouse.json"


def bridge_port_for(data_dir: Path, chdb_path: Path) -> int | None:
    """The port of a live warehouse bridge serving ``chdb_path``, if one runs."""
    info_file = data_dir / WAREHOUSE_INFO
    try:
        info = json.loads(info_file.read_text())
    except (OSError, ValueError):
        return None
    if Path(info.get("path", "")).resolve() != chdb_path.resolve() or not pid_alive(int(info.get("pid", 0))):
        return None
    port = info.get("port")
    return int(port) if port else None


def clickhouse_dsn(settings: Settings) -> str:
    """The DSN to connect with: the settings' DSN, except that a ``chdb://`` directory served by a live
    local warehouse bridge is reached through the bridge over HTTP (chDB lets one process open it)."""
    dsn = settings.resolved_clickhouse_dsn
    if dsn.startswith("chdb://"):
        port = bridge_port_for(Path(settings.data_dir), Path(dsn[len("chdb://") :]))
        if port is not None:
            return f"http://127.0.0.1:{port}"
    return dsn


def connect_clickhouse(settings: Settings) -> Any:
    """A ClickHouse client for ``clickhouse_dsn(settings)``."""
    from sinks.clickhouse.client import connect

    return connect(clickhouse_dsn(settings))
