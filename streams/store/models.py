"""SQLAlchemy 2 models of the billing store. Times are stored as aware UTC (``UtcDateTime``).

The subscription version table is the source of truth of an account's history (docs/architecture.md §4, §10);
``subscriptions`` holds the identity of a subscription and its *plan* (the terms now and the changes
scheduled for later), from which the versions are derived. Every change writes its versions, one
outbox row per version and a Stripe outbox row (``stripe_outbox``) in the same transaction.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every database (SQLite keeps no zone: stored naive in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {value!r}")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    billing_email: Mapped[str | None] = mapped_column(String(320))
    # {"line1", "line2"?, "city", "postal_code"?, "region"?, "country"}: printed on its invoices (docs/invoices.md)
    billing_address: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    tax_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("organization_id", "user_id", name="uq_members_org_user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(String(128), index=True)
    role: Mapped[str] = mapped_column(String(16))  # owner | admin | member | viewer
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class MembershipRow(Base):
    """One stretch of a user's membership of an organization (streams/store/memberships.py): written when the
    user becomes a member (the owner at creation, an accepted invitation, an added member) and closed when
    they are removed; a role change is not a membership change. Seats on the ``provisioned`` basis count
    the most members at once (rating/seats.py). No foreign key to ``members``: the history outlives them."""

    __tablename__ = "memberships"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(String(128))
    joined_at: Mapped[datetime] = mapped_column(UtcDateTime())
    left_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Invitation(Base):
    """An invitation to join an organization: only the invited user (the JWT ``sub`` ``user_id``) accepts or
    declines it, before ``expires_at``; once accepted, declined or revoked it is closed for good."""

    __tablename__ = "invitations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(String(128), index=True)
    email: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(16))  # owner | admin | member | viewer
    status: Mapped[str] = mapped_column(String(16))  # pending | accepted | declined | revoked
    invited_by: Mapped[str] = mapped_column(String(160))  # user:<user id> | key:<key id>
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    responded_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ApiKeyRow(Base):
    """An organization API key: only the SHA-256 of its 256-bit secret is kept."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))  # admin | member | viewer
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    #: the user who created it: the key works while that user is an owner or admin (None: made before 0006)
    created_by: Mapped[str | None] = mapped_column(String(128))


class Subscription(Base):
    """One subscription of one billing account, and its plan (see ``rating.lifecycle.Plan``)."""

    __tablename__ = "subscriptions"
    __table_args__ = (Index("ix_subscriptions_account", "account_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    #: None: a person's own subscription made in no organization (their own token or session).
    organization_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[str] = mapped_column(String(128))
    account_kind: Mapped[str] = mapped_column(String(8))  # user | org
    anchor: Mapped[date] = mapped_column(Date)
    # The plan: terms now, and what is scheduled.
    tier: Mapped[str] = mapped_column(String(64))
    interval: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    trial_end: Mapped[datetime | None] = mapped_column(UtcDateTime())
    pending_tier: Mapped[str | None] = mapped_column(String(64))
    pending_interval: Mapped[str | None] = mapped_column(String(8))
    pending_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    cancel_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    grace_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    contract: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: A contract change scheduled for ``pending_contract_at`` (None with a time: back to the catalog's tier).
    pending_contract: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    pending_contract_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    #: Set by the platform only (the Stripe mirror, or an operator linking existing objects after checking
    #: their ``metadata.account_id``); a customer belongs to one account (``stripe_customers``).
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255), index=True)
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(255), index=True, unique=True)
    #: The account while this subscription is not canceled; unique, so however creates race an account
    #: has at most one open subscription (a create clears it on a row that has become canceled).
    open_account_id: Mapped[str | None] = mapped_column(String(128), index=True, unique=True)
    #: ``created`` of the last payment webhook applied: older events arriving late change nothing.
    payment_event_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class StripeCustomer(Base):
    """Which account a Stripe customer belongs to: one account per customer, so no webhook or mirror
    call of one tenant's customer reaches another tenant's subscription."""

    __tablename__ = "stripe_customers"
    __table_args__ = (
        UniqueConstraint("stripe_customer_id", "account_id", name="uq_stripe_customers_customer_account"),
    )

    stripe_customer_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(128), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SubscriptionVersionRow(Base):
    """One ``SubscriptionVersion`` (docs/architecture.md §10) as published; the latest version wins per instant."""

    __tablename__ = "subscription_versions"
    __table_args__ = (UniqueConstraint("account_id", "version", name="uq_subscription_versions_account_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[str] = mapped_column(String(128), index=True)
    version: Mapped[int] = mapped_column(BigInteger)
    effective_from: Mapped[datetime] = mapped_column(UtcDateTime())
    record: Mapped[dict[str, Any]] = mapped_column(JSON)  # SubscriptionVersion.model_dump(mode="json")
    reason: Mapped[str] = mapped_column(String(64))  # what made it: create, upgrade, cancel, webhook...
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class OutboxRow(Base):
    """A record still to publish (``sent_at`` empty) or published; the relay sends them in ``id`` order."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "sent_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(64))  # the docs/architecture.md §10 name, without prefix
    key: Mapped[str] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class StripeOutboxRow(Base):
    """A subscription change still to mirror to Stripe (``sent_at`` empty) or mirrored.

    Written in the transaction of the change, beside the ``outbox`` rows of its versions; its own table
    because its relay is another one (``streams.store.relays.stripe_mirror``): a Stripe outage must not hold the
    Kafka publish, and a failed row waits for ``next_attempt_at`` with the account's later rows behind it.
    """

    __tablename__ = "stripe_outbox"
    __table_args__ = (Index("ix_stripe_outbox_pending", "sent_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[str] = mapped_column(String(128))  # rows of one account are mirrored in ``id`` order
    change_no: Mapped[int] = mapped_column(BigInteger)  # the highest version the change wrote
    reason: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)  # sinks.stripe.subscriptions.MirrorChange
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # after a failure: the backoff
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class WebhookEvent(Base):
    """A Stripe event handled once: its id is the idempotency key of webhook deliveries."""

    __tablename__ = "webhook_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(128))
    created: Mapped[datetime] = mapped_column(UtcDateTime())
    outcome: Mapped[str] = mapped_column(String(64))  # applied | ignored:<why>
    subscription_id: Mapped[str | None] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    applied: Mapped[bool] = mapped_column(Boolean, default=False)


class InvoicePaymentRow(Base):
    """A finalized invoice paid through the API (``POST /invoices/{id}/pay``): one row per invoice, so a
    second payment is refused however the requests race."""

    __tablename__ = "invoice_payments"

    invoice_id: Mapped[str] = mapped_column(String(160), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(128), index=True)
    stripe_invoice_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32))  # the Stripe invoice's status after the payment
    amount_paid: Mapped[int] = mapped_column(BigInteger)  # smallest currency unit, as Stripe reports it
    currency: Mapped[str] = mapped_column(String(8))
    paid_by: Mapped[str] = mapped_column(String(160))  # user id, or key:<key id>
    paid_at: Mapped[datetime] = mapped_column(UtcDateTime())


class InvoiceNumberCounter(Base):
    """The next invoice number of a seller: updated under the row's write lock in the finalizing transaction, so
    numbers are gapless and unique however many finalize at once (docs/analytics.md, "Receivables")."""

    __tablename__ = "invoice_number_counters"

    seller: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_number: Mapped[int] = mapped_column(BigInteger)


class InvoiceReceivableRow(Base):
    """The receivable state of a finalized invoice (the source of truth; ClickHouse ``invoices`` keep the
    computed document). Amounts in the currency's minor units; ``amount_remaining`` is derived."""

    __tablename__ = "invoice_receivables"
    __table_args__ = (UniqueConstraint("seller", "sequence", name="uq_invoice_receivables_seller_sequence"),)

    invoice_id: Mapped[str] = mapped_column(String(160), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(128), index=True)
    seller: Mapped[str] = mapped_column(String(64))
    sequence: Mapped[int] = mapped_column(BigInteger)
    number: Mapped[str] = mapped_column(String(80), unique=True)
    status: Mapped[str] = mapped_column(String(16))  # open | paid | void | uncollectible
    currency: Mapped[str] = mapped_column(String(8))
    amount_due: Mapped[int] = mapped_column(BigInteger)
    amount_paid: Mapped[int] = mapped_column(BigInteger)
    collection: Mapped[str] = mapped_column(String(24))  # charge_automatically | send_invoice
    net_days: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    due_date: Mapped[date] = mapped_column(Date)
    reissue_of: Mapped[str | None] = mapped_column(String(160))  # the void invoice this one replaces
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class InvoiceStateRow(Base):
    """Every change of an invoice's receivable state, in order (mirrored to ClickHouse ``receivables``)."""

    __tablename__ = "invoice_state_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoice_receivables.invoice_id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    amount_due: Mapped[int] = mapped_column(BigInteger)
    amount_paid: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(64))  # finalize, payment, void, reissue, uncollectible...
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class PaymentRow(Base):
    """One payment attempt on an invoice and its outcome: through the API's pay, or recorded by the operator
    (a wire transfer, a check). A succeeded one moved the invoice's ``amount_paid`` in the same transaction."""

    __tablename__ = "payments"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoice_receivables.invoice_id"), index=True)
    account_id: Mapped[str] = mapped_column(String(128), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)  # minor units
    currency: Mapped[str] = mapped_column(String(8))
    method: Mapped[str] = mapped_column(String(24))  # card | wire | ach | check | other
    reference: Mapped[str | None] = mapped_column(String(255))  # the bank's or Stripe's reference
    outcome: Mapped[str] = mapped_column(String(24))  # succeeded | failed
    failure_reason: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(24))  # api | operator
    recorded_by: Mapped[str] = mapped_column(String(160))
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class CreditNoteRow(Base):
    """A correction of a finalized invoice (docs/invoices.md, "Credit notes"): ``credited`` lowered what was owed,
    ``refunded`` is paid back; the receivable moved in the same transaction. Never edited or deleted."""

    __tablename__ = "credit_notes"
    __table_args__ = (UniqueConstraint("invoice_id", "idempotency_key", name="uq_credit_notes_invoice_key"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    number: Mapped[str] = mapped_column(String(80), unique=True)  # ML-CN-000001, per seller without gaps
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoice_receivables.invoice_id"), index=True)
    account_id: Mapped[str] = mapped_column(String(128), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)  # minor units: credited + refunded
    credited: Mapped[int] = mapped_column(BigInteger)
    refunded: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(String(40))  # duplicate | order_change | product_unsatisfactory | fraudulent
    memo: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(160))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Its refund paid out (docs/invoices.md, "Refunds"): via stripe (Stripe Refunds on the charge that paid the
    # invoice) or manual (owed to the customer until recorded); None when nothing is refunded.
    refund_via: Mapped[str | None] = mapped_column(String(16))
    refund_status: Mapped[str | None] = mapped_column(String(16), index=True)  # REFUND_STATUSES
    refund_charge: Mapped[str | None] = mapped_column(String(255))  # the Stripe charge refunded
    refund_reference: Mapped[str | None] = mapped_column(String(255))  # re_... or the bank's reference
    refund_failure: Mapped[str | None] = mapped_column(Text)  # the last attempt's reason
    refund_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    refund_updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The client's Idempotency-Key of the request that issued it: the same key again answers with this note.
    idempotency_key: Mapped[str | None] = mapped_column(String(255))


class NoticeRow(Base):
    """An email notice to send (``sent_at`` empty) or sent (docs/notifications.md).

    Written in the transaction of what caused it (``streams.notify.outbox.enqueue_notice``); ``key`` is the
    notice's idempotency key (one notice per event), and the Message-ID of the email it becomes.
    """

    __tablename__ = "notice_outbox"
    __table_args__ = (Index("ix_notice_outbox_pending", "sent_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[str] = mapped_column(String(128), index=True)
    recipient: Mapped[str | None] = mapped_column(String(320))  # None: no address known, kept unsent with a note
    context: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class WebhookEndpointRow(Base):
    """An organization's endpoint for outgoing webhooks (Standard Webhooks; docs/notifications.md)."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[str]] = mapped_column(JSON)
    secret: Mapped[str] = mapped_column(String(200))  # whsec_<base64>: the relay signs with it
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class WebhookDeliveryRow(Base):
    """One event for one endpoint: pending until acknowledged (2xx) or given up after 24 h of retries.

    ``event_id`` is the ``webhook-id`` header: the same on every retry, so receivers deduplicate by it;
    unique per endpoint, so an event is enqueued once whatever calls ``enqueue_event`` again."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_endpoint_event"),
        Index("ix_webhook_deliveries_pending", "done_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # acknowledged, or given up
    outcome: Mapped[str | None] = mapped_column(String(16))  # "delivered" | "failed"


class LoginLinkRow(Base):
    """A one-time sign-in link of the web app (docs/web-app-server.md): only the SHA-256 of its secret is kept;
    used once (``used_at``), before ``expires_at``."""

    __tablename__ = "login_links"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(128), index=True)
    organization_id: Mapped[str | None] = mapped_column(String(64))  # the JWT's ``org`` it stands for
    issued_by: Mapped[str] = mapped_column(String(160))  # operator:cli | user:<id> (the platform's exchange)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class WebSessionRow(Base):
    """A signed-in browser: the cookie carries the secret (only its SHA-256 is kept), acting as the user
    (and organization) of the link it came from; writes must echo ``csrf_token`` in ``X-CSRF-Token``."""

    __tablename__ = "web_sessions"

    id_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(128), index=True)
    organization_id: Mapped[str | None] = mapped_column(String(64))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ContractAddonRow(Base):
    """An add-on recorded on a subscription by a platform operator (rating/addons.py: one-time, recurring or
    hourly). Quantities are exact decimals kept as text (hours like ``1.5``)."""

    __tablename__ = "contract_addons"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[str] = mapped_column(String(128), index=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # one_time | recurring | hourly
    quantity: Mapped[str] = mapped_column(String(32))  # one_time: units
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime())  # one_time: the date billed
    ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # recurring: when it stops
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(160))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AddonHoursRow(Base):
    """Hours logged on an hourly add-on, billed in the period containing ``worked_at``."""

    __tablename__ = "addon_hours"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    addon_id: Mapped[str] = mapped_column(ForeignKey("contract_addons.id", ondelete="CASCADE"), index=True)
    worked_at: Mapped[datetime] = mapped_column(UtcDateTime())
    hours: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(160))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class CreditGrantRow(Base):
    """A prepaid credit granted to an account by a platform operator (rating/credits.py): drawn down by the
    invoices of the periods it is in effect in; what remains is the amount plus the ``credit:<id>`` lines of
    the finalized invoices (ClickHouse), so nothing here changes when an invoice draws on it."""

    __tablename__ = "credit_grants"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[str] = mapped_column(String(128), index=True)
    name: Mapped[str] = mapped_column(String(120))
    amount: Mapped[int] = mapped_column(BigInteger)  # minor units
    currency: Mapped[str] = mapped_column(String(8))
    effective_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    priority: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(160))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AuditEntry(Base):
    """One change to an organization's billing or access (``streams.store.audit``): append-only, database
    triggers refuse UPDATE and DELETE (migration 0014) but for the retention prune. No foreign key: the record
    outlives what it names."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_org_id", "organization_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(160))  # user:<id> | key:<id> | operator:<id> | system
    action: Mapped[str] = mapped_column(String(64))  # e.g. member.role_changed (streams.store.audit.ACTIONS)
    target: Mapped[str | None] = mapped_column(String(200))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(400))


class AuditPruneGate(Base):
    """The cutoff of a retention prune in progress: present only inside the prune's own transaction, it is what
    lets the delete trigger pass entries older than it."""

    __tablename__ = "audit_prune_gate"

    cutoff: Mapped[datetime] = mapped_column(UtcDateTime(), primary_key=True)


class AiControlsRow(Base):
    """An organization's AI controls (``user_id`` ``*``) or one member's (streams/store/ai_controls.py)."""

    __tablename__ = "ai_controls"

    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(128), primary_key=True)  # '*': the whole organization
    disabled_features: Mapped[list[str]] = mapped_column(JSON)  # premium or tier features switched off
    allowed_providers: Mapped[list[str] | None] = mapped_column(JSON)  # None: any the tier allows
    allowed_models: Mapped[list[str] | None] = mapped_column(JSON)
    monthly_spend_cap: Mapped[str | None] = mapped_column(String(32))  # a decimal in USD
    monthly_request_cap: Mapped[int | None] = mapped_column(BigInteger)
    cap_mode: Mapped[str] = mapped_column(String(8))  # hard | alert
    approval_required: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_by: Mapped[str] = mapped_column(String(160))


class AiAccessRequestRow(Base):
    """A member's request for an AI feature or a provider's model while the organization requires approval, and
    its decision (streams/store/ai_access.py, docs/ai-controls.md): ``approved`` ones are what the member may use."""

    __tablename__ = "ai_access_requests"
    __table_args__ = (Index("ix_ai_access_requests_org_user", "organization_id", "user_id", "status"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(128))
    feature: Mapped[str | None] = mapped_column(String(100))  # a premium feature or ai_requests; or
    provider: Mapped[str | None] = mapped_column(String(100))  # a provider's model ('*': any of its models)
    model: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(String(500))  # the member's words
    status: Mapped[str] = mapped_column(String(16))  # pending | approved | denied | revoked
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(160))  # user:<id> | key:<id>
    note: Mapped[str | None] = mapped_column(String(500))  # the decider's words


class BudgetRow(Base):
    """An account's monthly budget (docs/forecasting.md): alerts when the forecast, then the actual, passes it."""

    __tablename__ = "budgets"

    account_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    amount: Mapped[int] = mapped_column(BigInteger)  # minor units
    currency: Mapped[str] = mapped_column(String(8))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class BrandingRow(Base):
    """An organization's white-label branding (streams/store/branding.py): used while it has the add-on."""

    __tablename__ = "org_branding"

    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    primary_colour: Mapped[str | None] = mapped_column(String(7))  # #rrggbb
    accent_colour: Mapped[str | None] = mapped_column(String(7))
    logo_type: Mapped[str | None] = mapped_column(String(32))  # image/png | image/jpeg
    logo: Mapped[bytes | None] = mapped_column(LargeBinary)
    sender_name: Mapped[str | None] = mapped_column(String(200))
    reply_to: Mapped[str | None] = mapped_column(String(320))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_by: Mapped[str] = mapped_column(String(160))
