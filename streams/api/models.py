"""Request and response bodies of the billing API (pydantic v2; the OpenAPI schemas come from them).

Money and quantities are decimal strings (docs/architecture.md §10: never floats); times are RFC 3339 in UTC.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, field_validator, model_validator

from rating.catalog.model import Amount, ContractOverrides
from rating.subscriptions import Status
from schemas.events import MetricName
from schemas.ids import ID_PATTERN as ID_PATTERN  # the one id pattern, re-exported for the routers
from schemas.ids import INVOICE_ID_PATTERN as INVOICE_ID_PATTERN

SUB_ID_PATTERN = r"^msub_[0-9a-f]{16}$"
ORG_ID_PATTERN = r"^org_[0-9a-f]{16}$"
KEY_ID_PATTERN = r"^[0-9a-f]{16}$"
INVITATION_ID_PATTERN = r"^inv_[0-9a-f]{32}$"
CREDIT_NOTE_REF_PATTERN = r"^(cn_[0-9a-f]{24}|[A-Z0-9]{1,64}-CN-\d{6,})$"  # a credit note's id or number
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"

ACCOUNT_DOC = (
    "an organization the caller acts in, or the caller's own personal account (a user token without 'org'); "
    "membership never reaches a member's personal account"
)

Role = Literal["owner", "admin", "member", "viewer"]
KeyRole = Literal["admin", "member", "viewer"]
Interval = Literal["month", "year"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _printable(cls, value: Any) -> Any:
        # Names and emails are stored and shown: no NUL (PostgreSQL refuses it: a 500), control, zero-width or
        # bidi-control characters (docs/security.md). Ids have their own pattern (schemas/ids.py).
        if isinstance(value, str) and not value.isprintable():
            raise ValueError("control or invisible characters (NUL, zero-width, bidi) are not allowed")
        return value


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(_Out):
    code: str = Field(description="machine-readable reason, e.g. invalid_transition codes such as cancel_pending")
    message: str


class Error(_Out):
    """Every 4xx and 5xx answer."""

    error: ErrorBody


# -- organizations ------------------------------------------------------------------------------------


class BillingAddress(_In):
    """A postal address as printed on invoices (docs/invoices.md)."""

    line1: str = Field(min_length=1, max_length=200)
    line2: str | None = Field(None, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    postal_code: str | None = Field(None, max_length=20)
    region: str | None = Field(None, max_length=100, description="state, province or county")
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 code, e.g. DE")


TAX_ID = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9 .\-/]+$")


class OrganizationCreate(_In):
    name: str = Field(min_length=1, max_length=200)
    billing_email: str | None = Field(None, pattern=EMAIL_PATTERN, max_length=320)
    billing_address: BillingAddress | None = None
    tax_id: str | None = TAX_ID


class OrganizationUpdate(_In):
    """Only the fields given change; ``null`` clears an optional one."""

    name: str | None = Field(None, min_length=1, max_length=200)
    billing_email: str | None = Field(None, pattern=EMAIL_PATTERN, max_length=320)
    billing_address: BillingAddress | None = None
    tax_id: str | None = TAX_ID

    @model_validator(mode="after")
    def _something(self) -> OrganizationUpdate:
        if not self.model_fields_set:
            raise ValueError("give at least one of name, billing_email, billing_address, tax_id")
        return self


class OrganizationOut(_Out):
    id: str
    name: str
    billing_email: str | None
    billing_address: BillingAddress | None = None
    tax_id: str | None = None
    created_at: datetime
    updated_at: datetime
    role: Role | None = Field(None, description="the caller's role in it")


class MemberUpdate(_In):
    role: Role


class MemberOut(_Out):
    user_id: str
    role: Role
    created_at: datetime


class MemberList(_Out):
    organization_id: str
    members: list[MemberOut]


class ApiKeyCreate(_In):
    name: str = Field(min_length=1, max_length=200)
    role: KeyRole


class ApiKeyOut(_Out):
    id: str
    name: str
    role: KeyRole
    created_at: datetime
    revoked_at: datetime | None
    created_by: str | None = Field(
        None,
        description="the user who created it: the key works while that user is an owner or admin of the "
        "organization (None: created before keys recorded their creator)",
    )


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="the secret key, shown this once: only its hash is stored")


class ApiKeyList(_Out):
    api_keys: list[ApiKeyOut]


class InvitationCreate(_In):
    user_id: str = Field(pattern=ID_PATTERN, description="the invited platform user (the JWT 'sub' that accepts)")
    email: str | None = Field(None, pattern=EMAIL_PATTERN, max_length=320, description="where to tell them")
    role: Role


class InvitationOut(_Out):
    id: str = Field(description="the invitation; only the invited user's own token accepts it")
    organization_id: str
    organization_name: str
    user_id: str
    email: str | None
    role: Role
    status: Literal["pending", "accepted", "declined", "revoked", "expired"]
    invited_by: str = Field(description="who invited: user:<user id>, key:<API key id> or operator:cli")
    created_at: datetime
    expires_at: datetime
    responded_at: datetime | None


class InvitationList(_Out):
    invitations: list[InvitationOut]


# -- subscriptions ------------------------------------------------------------------------------------


class SubscriptionCreate(_In):
    account_kind: Literal["org", "user"] = "org"
    organization_id: str | None = Field(
        None,
        pattern=ORG_ID_PATTERN,
        description="default: the organization of the API key or token (none for a person's own subscription made "
        "with their own token without 'org')",
    )
    account_id: str | None = Field(
        None,
        pattern=ID_PATTERN,
        description="org: the organization (default); user: the caller's own user id (default), never another's",
    )
    tier: str = Field(min_length=1, max_length=64)
    interval: Interval = "month"
    trial_days: int = Field(0, ge=0, le=365)
    anchor: date | None = Field(None, description="billing anchor day (default: today, UTC)")


class SubscriptionUpdate(_In):
    tier: str | None = Field(None, min_length=1, max_length=64)
    interval: Interval | None = None

    @model_validator(mode="after")
    def _something(self) -> SubscriptionUpdate:
        if self.tier is None and self.interval is None:
            raise ValueError("give a tier, an interval or both")
        return self


class ContractPut(_In):
    contract: ContractOverrides | None = Field(
        description="the account's contract overrides from effective_from on (null: back to the catalog's tier)"
    )
    effective_from: datetime | None = Field(
        None,
        description="when it takes effect (default: now; never in the past: usage already rated keeps its "
        "version). A later time schedules it, replacing any change scheduled before.",
    )

    @field_validator("effective_from")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("needs a UTC offset")
        return v


class ContractOut(_Out):
    subscription_id: str
    account_id: str
    contract: ContractOverrides | None = Field(description="in effect now (null: the catalog's tier)")
    effective_from: datetime | None = Field(description="when the version in effect now took effect")
    pending_contract: ContractOverrides | None = Field(description="a change scheduled for pending_effective_from")
    pending_effective_from: datetime | None
    term_ends_on: date | None = Field(
        None, description="the end of the contract's current term (renewed if it auto-renews; null: no term or ended)"
    )
    change: str | None = None


ADDON_ID_PATTERN = r"^add_[0-9a-f]{24}$"


def _aware_or_none(v: datetime | None) -> datetime | None:
    if v is not None and v.tzinfo is None:
        raise ValueError("needs a UTC offset")
    return v


class AddonIn(_In):
    name: str = Field(pattern=r"^[a-z0-9_]{1,64}$", description="an add-on of the catalog, e.g. advanced_analytics")
    quantity: Amount = Field(Decimal(1), description="units of a one-time add-on (e.g. training sessions); else 1")
    starts_at: datetime | None = Field(
        None,
        description="a one-time add-on's billing date, a recurring one's start (default: now; not before the "
        "current period: finalized invoices are not reopened)",
    )
    ends_at: datetime | None = Field(None, description="a recurring add-on's end (prorated); null: until ended")
    note: str | None = Field(None, max_length=500)

    _aware = field_validator("starts_at", "ends_at")(_aware_or_none)


class AddonEnd(_In):
    ends_at: datetime = Field(description="when the recurring add-on stops (the last period bills the part before)")

    _aware = field_validator("ends_at")(_aware_or_none)


class HoursIn(_In):
    worked_on: date = Field(description="the day worked (billed in the period containing it)")
    hours: Amount = Field(description="hours worked, a decimal string such as 1.5")
    note: str = Field(min_length=1, max_length=500)


class HoursOut(_Out):
    worked_on: date
    hours: Decimal
    note: str
    created_by: str


class AddonOut(_Out):
    id: str
    subscription_id: str
    account_id: str
    name: str
    kind: Literal["one_time", "recurring", "hourly"]
    quantity: Decimal
    unit_price: Decimal | None = Field(description="the contract's price if it sets one, else the catalog's")
    starts_at: datetime
    ends_at: datetime | None
    note: str | None
    hours: list[HoursOut]
    created_by: str
    created_at: datetime


class AddonList(_Out):
    data: list[AddonOut]


class CreditGrantIn(_In):
    name: str = Field(min_length=1, max_length=120, description="shown on the invoice's credit line")
    amount: Amount = Field(description="prepaid credit in dollars, whole cents (a decimal string)")
    effective_at: datetime | None = Field(None, description="from when it pays invoices (default: now)")
    expires_at: datetime | None = Field(None, description="after which it pays nothing more (null: never)")
    priority: int = Field(0, ge=0, le=1000, description="lower is drawn first; ties: the soonest expiry first")

    _aware = field_validator("effective_at", "expires_at")(_aware_or_none)


class CreditGrantOut(_Out):
    id: str
    subscription_id: str
    account_id: str
    name: str
    amount: Decimal
    remaining: Decimal = Field(description="the amount less what finalized invoices drew (credit:<id> lines)")
    currency: str
    effective_at: datetime
    expires_at: datetime | None
    priority: int
    created_by: str
    created_at: datetime


class CreditGrantList(_Out):
    data: list[CreditGrantOut]
    balance: Decimal = Field(description="what remains of the grants in effect now")


class CancelRequest(_In):
    immediately: bool = Field(False, description="cancel now instead of at the end of the current period")


class Period(_Out):
    key: str = Field(description="YYYY-MM of the period start")
    start: datetime
    end: datetime


class PendingChange(_Out):
    tier: str
    interval: Interval
    effective_from: datetime


class SubscriptionRecord(_Out):
    """A version as published on billing.subscriptions (docs/architecture.md §10), without its enterprise
    contract: that is read with ``GET /api/billing/subscriptions/{id}/contract`` (owners and admins)."""

    model_config = ConfigDict(extra="allow")
    account_id: str
    account_kind: Literal["user", "org"]
    tier: str
    status: Status
    interval: Interval
    anchor: date
    effective_from: datetime
    version: int


class SubscriptionOut(_Out):
    id: str
    organization_id: str | None = Field(
        description="the organization it was made in (null: a person's own, made in no organization)"
    )
    account_id: str
    account_kind: Literal["user", "org"]
    tier: str = Field(description="in effect now")
    interval: Interval
    status: Status
    anchor: date
    current_period: Period
    trial_end: datetime | None
    cancel_at: datetime | None = Field(description="a pending cancellation (undone by reactivate)")
    pending_change: PendingChange | None = Field(description="a downgrade scheduled for the period end")
    grace_until: datetime | None = Field(description="past_due: when it becomes unpaid")
    stripe_customer_id: str | None = Field(description="set by Meterline's Stripe mirror, never by a caller")
    stripe_subscription_id: str | None = Field(description="set by Meterline's Stripe mirror, never by a caller")
    created_at: datetime
    updated_at: datetime
    change: str | None = Field(None, description="what the request did: upgrade, downgrade, cancel, ...")
    versions: list[SubscriptionRecord] = Field(description="the account's versions, oldest first")


class SubscriptionList(_Out):
    subscriptions: list[SubscriptionOut]


# -- entitlements and usage ---------------------------------------------------------------------------


class RateLimitState(_Out):
    """The account's request budget for usage recorded through the API (an in-memory token bucket per API
    process: a burst of ``limit_per_minute``, refilled evenly over a minute)."""

    limit_per_minute: int = Field(description="the tier's API calls a minute (0: no limit)")
    remaining: int = Field(description="calls that may be made at once now")
    reset_seconds: int = Field(description="seconds until the budget is full again")


class Entitlement(_Out):
    account_id: str
    feature: str
    kind: Literal["feature", "metric", "premium_feature"]
    tier: str = Field(description="the tier the account is entitled under now")
    status: Status | None = Field(description="the subscription status (None: no subscription)")
    allowed: bool
    limit: str | None = Field(description="hard cap, else included quantity (None: unlimited or not metered)")
    used: str | None
    remaining: str | None
    reason: str | None = Field(description="why not allowed: not_entitled, hard_capped, ...")
    period: str | None
    as_of: datetime | None = Field(description="time of the live quota state used (None: no usage yet)")
    rate_limit: RateLimitState = Field(description="the account's API-call rate limit and what is left of it now")


class MetricUsage(_Out):
    metric: str
    used: str
    included: str | None
    remaining: str | None
    hard_cap: str | None
    over_limit: bool
    hard_capped: bool
    entitled: bool
    provisional_charge: str = Field(description="what the period-to-date usage would bill now (USD)")


class UsageCurrent(_Out):
    account_id: str
    tier: str
    status: Status | None
    period: Period
    metrics: list[MetricUsage]
    provisional_total: str
    live: bool = Field(description="false while the live quota state is still loading")


class UsageRow(_Out):
    start: datetime
    end: datetime
    metric: str
    user_id: str | None
    quantity: str = Field(description="storage_gb: the highest hourly reading; others: the sum")
    events: int


class UsageHistory(_Out):
    account_id: str
    granularity: Literal["day", "period"]
    rows: list[UsageRow]


class EntitlementQuery(_In):
    """Who and what a check is for: the organization's AI controls refuse what they do not allow
    (docs/ai-controls.md). All optional: without ``user_id`` only the organization-wide controls apply."""

    user_id: str | None = Field(None, pattern=ID_PATTERN, description="the member the check is for")
    provider: str | None = Field(None, max_length=100, description="the AI provider the request would use")
    model: str | None = Field(None, max_length=100, description="the AI model the request would use")


class UsageCurrentQuery(_In):
    account: str = Field(pattern=ID_PATTERN, description=ACCOUNT_DOC)


class UsageHistoryQuery(_In):
    account: str = Field(pattern=ID_PATTERN, description=ACCOUNT_DOC)
    granularity: Literal["day", "period"] = "day"
    metric: MetricName | None = None
    user_id: str | None = Field(None, pattern=ID_PATTERN)
    by_user: bool = Field(False, description="one row per user")
    start: datetime | None = Field(None, alias="from", description="default: 90 days ago")
    end: datetime | None = Field(None, alias="to", description="default: now")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class UsageShareQuery(_In):
    account: str = Field(pattern=ID_PATTERN, description=ACCOUNT_DOC)
    user_id: str = Field(pattern=ID_PATTERN, description="whose share: a member may ask only for their own")


class MetricShare(_Out):
    metric: str
    used: str = Field(
        description="this period so far: settled, then the user's stored events after ``settled_until`` (live, "
        "provisional until settled); storage_gb: the highest reading"
    )
    settled: str = Field(description="of which settled")


class UsageShare(_Out):
    """A user's own share of an account's usage this period (``GET /api/billing/usage/share``): no allowances,
    charges or totals, those are the organization's."""

    account_id: str
    user_id: str
    period: Period
    as_of: datetime = Field(description="live figures up to here")
    settled_until: datetime | None = Field(description="usage before here is settled; None before the first run")
    metrics: list[MetricShare] = Field(description="the plan's metered metrics and any other the user used")


class OrgUsageQuery(_In):
    granularity: Literal["day", "period"] = "period"
    metric: MetricName | None = None


class UsageEventIn(BaseModel):
    """One usage event (docs/events.md); validated by the ingest pipeline's own decoder, not here."""

    model_config = ConfigDict(extra="allow")
    event_id: str | None = Field(None, description="the dedupe key (default: a new UUID); resend it on retry")
    timestamp: str | int = Field(description="RFC 3339 with an offset, or epoch milliseconds")
    user_id: str = Field(description="who acted: the caller itself, unless an owner or admin records for a member")
    org_id: str | None = Field(None, description="the organization acted in (the caller's own)")
    metric: str = Field(description="api_calls | ai_requests | storage_gb | premium_feature | active_user")
    quantity: str | int = Field(description="decimal string or number >= 0")
    properties: dict[str, Any] = Field(default_factory=dict)
    source: str | None = Field(
        None, description="ignored: set by the API to api:<organization> (api:user:<user id> for a personal token)"
    )


class UsageBatchIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    events: list[UsageEventIn] = Field(description="at most 1000 events")


class UsageRecordIn(RootModel[UsageEventIn | UsageBatchIn]):
    """One event, or the batch envelope {"events": [...]}."""


class EventResult(_Out):
    index: int = Field(description="position in the request (0 for a single event)")
    event_id: str | None
    status: Literal["accepted", "rejected"]
    reason: str | None = Field(
        None, description="rejected: not_permitted, unavailable (not stored: resend it), or a decoder reason"
    )
    detail: str | None = None


class UsageRecordResult(_Out):
    accepted: int
    rejected: int
    results: list[EventResult]


# -- invoices -----------------------------------------------------------------------------------------


class InvoiceLine(_Out):
    code: str
    description: str
    quantity: str
    unit_price: str
    amount: str


InvoiceStatus = Literal["draft", "open", "paid", "void", "uncollectible"]
_STATUS_DOC = "Stripe's invoice statuses: draft (not finalized), open (owed), paid, void, uncollectible"


class Receivable(_Out):
    """What a finalized invoice's buyer owes (docs/analytics.md, "Receivables"); amounts in minor units."""

    number: str | None = Field(None, description="sequential per seller, gapless; none on a draft")
    issued_at: datetime | None = None
    due_date: date | None = None
    amount_due: int | None = Field(None, description="the total to collect, in the currency's smallest unit")
    amount_paid: int = 0
    amount_remaining: int | None = None
    overdue: bool = Field(False, description="still owed after its due date")
    reissue_of: str | None = Field(None, description="the void invoice this one was reissued in place of")
    reissued_as: str | None = Field(None, description="a void invoice's reissue (its own id and number)")


class InvoiceDocument(Receivable):
    """docs/architecture.md §10's invoice document, with its receivable state."""

    model_config = ConfigDict(extra="allow")
    invoice_id: str | None = None
    account_id: str
    period_start: datetime
    period_end: datetime
    currency: str
    status: InvoiceStatus = Field(description=_STATUS_DOC)
    lines: list[InvoiceLine]
    subtotal: str
    total: str


class InvoiceSummary(Receivable):
    invoice_id: str
    account_id: str
    period: str
    period_start: datetime
    period_end: datetime
    tier: str
    status: InvoiceStatus = Field(description=_STATUS_DOC)
    currency: str
    total: str
    finalized_at: datetime


class InvoiceList(_Out):
    invoices: list[InvoiceSummary]


class AccountQuery(_In):
    account: str = Field(pattern=ID_PATTERN, description=ACCOUNT_DOC)


class InvoiceListQuery(_In):
    account: str | None = Field(
        None, pattern=ID_PATTERN, description="default: the caller's organization, or a user token's own account"
    )


class PaymentListQuery(InvoiceListQuery):
    invoice: str | None = Field(None, pattern=INVOICE_ID_PATTERN, description="only this invoice's payments")
    status: Literal["succeeded", "failed", "refunded"] | None = Field(None, description="the outcome")
    period: str | None = Field(
        None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="only payments on the invoices of this usage period"
    )
    since: datetime | None = Field(None, description="attempted at or after (RFC 3339)")
    until: datetime | None = Field(None, description="attempted before (RFC 3339)")


class PaymentOut(_Out):
    id: str
    invoice_id: str
    account_id: str
    amount: int = Field(description="in the currency's smallest unit")
    currency: str
    method: str = Field(description="card (through pay), wire, ach, check or other (recorded by the operator)")
    reference: str | None = None
    status: Literal["succeeded", "failed", "refunded"] = Field(
        description="refunded: paid back by a credit note (its number is the reference)"
    )
    failure_reason: str | None = None
    source: str = Field(description="api (pay), stripe (its webhooks), operator, dunning (retries) or credit_note")
    at: datetime


class PaymentList(_Out):
    payments: list[PaymentOut]


# -- webhooks -----------------------------------------------------------------------------------------


class InvoicePayment(_Out):
    invoice_id: str
    account_id: str
    stripe_invoice_id: str
    status: str = Field(description="the Stripe invoice's status after the payment (paid)")
    amount_paid: int = Field(description="in the currency's smallest unit, as Stripe reports it")
    currency: str
    paid_at: datetime
    paid_by: str = Field(description="user id, or key:<key id>")


class CreditNoteIn(_In):
    amount: str = Field(pattern=r"^\d{1,12}(\.\d{1,2})?$", description="in the invoice's currency, e.g. 120.50")
    reason: Literal["duplicate", "fraudulent", "order_change", "product_unsatisfactory"] = Field(
        description="Stripe's credit note reasons"
    )
    memo: str | None = Field(None, max_length=500, description="printed on the credit note")


class CreditNoteOut(_Out):
    id: str
    number: str = Field(description="ML-CN-000001: per seller, without gaps")
    invoice_id: str
    account_id: str
    amount: int = Field(description="in the currency's smallest unit: credited + refunded")
    credited: int = Field(description="what it took off the amount still owed")
    refunded: int = Field(description="what is paid back of what was paid")
    currency: str
    reason: str
    memo: str | None = None
    created_by: str
    created_at: datetime
    refund_via: Literal["stripe", "manual"] | None = Field(
        None, description="how the refunded part is paid out: Stripe Refunds, or by hand (none when nothing is)"
    )
    refund_status: Literal["pending", "failed", "succeeded", "owed", "recorded"] | None = Field(
        None,
        description="stripe: pending, failed (retried; refund_failure says why) or succeeded; manual: owed (to the "
        "customer) or recorded (paid back)",
    )
    refund_reference: str | None = Field(None, description="Stripe's refund id (re_...) or the bank's reference")
    refund_failure: str | None = Field(None, description="why the last refund attempt failed")


class RefundIn(_In):
    reference: str | None = Field(
        None, min_length=1, max_length=255, description="the bank's reference of a refund paid by hand"
    )


class CreditNoteList(_Out):
    credit_notes: list[CreditNoteOut]


class WebhookResult(_Out):
    received: bool
    duplicate: bool
    outcome: str


class SessionOut(_Out):
    """The web app's session (docs/web-app-server.md)."""

    user_id: str
    organization_id: str | None = Field(description="the organization it acts in (None: the person's own account)")
    account_id: str = Field(description="the billing account it shows: the organization, else the person's own")
    csrf_token: str = Field(description="send it in X-CSRF-Token with every write made with the session cookie")
    expires_at: datetime


class LoginLinkOut(_Out):
    url: str = Field(description="open it once, before expires_at, to sign in to the web app as the token's user")
    expires_at: datetime


class PlanMetricOut(_Out):
    metric: str
    entitled: bool = Field(description="false: the plan does not offer this metric at all")
    aggregation: str
    included: Decimal | None = Field(description="units included each period (None: unlimited)")
    hard_cap: Decimal | None = Field(description="usage is refused beyond it (None: no cap)")
    overage_unit_price: Decimal | None = Field(description="price per unit over the included (None: none billed)")
    per_feature: dict[str, Decimal] = Field(description="premium features: price per use")
    fair_use_alert: Decimal | None = None


class PlanSeatBracketOut(_Out):
    up_to: Decimal | None = Field(description="seats up to this count (None: no upper bound)")
    unit_amount: Decimal
    flat_amount: Decimal


class PlanSeatsOut(_Out):
    mode: Literal["volume", "graduated"]
    brackets: list[PlanSeatBracketOut]
    minimum_seats: int


class PlanOut(_Out):
    tier: str
    display_name: str
    is_default: bool = Field(description="the plan of an account without a (live) subscription")
    monthly_price: Decimal | None = Field(description="the fixed fees of a month (None: no monthly billing)")
    annual_price: Decimal | None = Field(description="the fixed fees of a year (None: no annual billing)")
    annual_saving: Decimal | None = Field(
        description="twelve months at the monthly price less the annual price (None: not both offered, or no saving)"
    )
    seats: PlanSeatsOut | None = Field(description="per-seat prices on top of the fixed fees (None: no seat fee)")
    features: list[str]
    rate_limit_per_minute: int
    metrics: list[PlanMetricOut]
    collection: str = Field(description="how invoices are paid: charge_automatically, send_invoice or none")
    days_until_due: int | None


class PlanList(_Out):
    catalog_version: str
    currency: str
    plans: list[PlanOut]
    metric_names: dict[str, str] = Field(description="metric id -> how people read it ('API calls')")
    feature_names: dict[str, str] = Field(
        description="feature id (a tier's, or a premium feature's) -> how people read it ('AI twin')"
    )


class SubscriptionPreviewRequest(_In):
    action: Literal["change", "cancel", "reactivate"] = Field(
        description="change: a tier and/or interval (upgrade now, downgrade at the period end); cancel; reactivate"
    )
    tier: str | None = Field(None, min_length=1, max_length=64)
    interval: Interval | None = None
    immediately: bool = Field(False, description="cancel only: now instead of at the end of the current period")

    @model_validator(mode="after")
    def _change_needs_target(self) -> SubscriptionPreviewRequest:
        if self.action == "change" and self.tier is None and self.interval is None:
            raise ValueError("a change gives a tier, an interval or both")
        if self.action != "change" and (self.tier is not None or self.interval is not None):
            raise ValueError("only a change gives a tier or an interval")
        return self


class SubscriptionPreview(_Out):
    """What a change would do, computed by the invoice's own code (the settlement's draft) and not applied."""

    change: str = Field(description="what it would be: upgrade, downgrade, change_undone, cancel_now, ...")
    effective_from: datetime = Field(description="when the new terms would start")
    currency: str
    current_period: Period
    current_invoice_total: Decimal = Field(description="the current period's invoice so far, as things are")
    preview_invoice_total: Decimal = Field(description="the current period's invoice so far, with the change")
    proration: Decimal = Field(description="what the change adds to (or, negative, takes off) the current invoice")
    next_period: Period
    next_invoice_total: Decimal = Field(description="the next period's invoice with the change, before any usage")
    preview_invoice: InvoiceDocument | None = None
    next_invoice: InvoiceDocument | None = None


class UsageStreamEvent(_Out):
    """One ``usage`` event of ``GET /api/billing/usage/stream`` (its ``data``, as JSON)."""

    as_of: datetime = Field(description="when these figures were read from the live quota state")
    usage: UsageCurrent


PAYMENT_METHOD_ID_PATTERN = r"^pm_[A-Za-z0-9]{1,64}$"


class AccountRef(_In):
    account: str = Field(pattern=ID_PATTERN, description=ACCOUNT_DOC)


class SetupIntentOut(_Out):
    setup_intent_id: str
    client_secret: str = Field(description="for Stripe.js (confirmSetup) in the browser; card data goes to Stripe")


class PaymentMethodOut(_Out):
    id: str
    type: str = Field(description="card, sepa_debit, ... (what Stripe's Payment Element offered)")
    brand: str | None = None
    last4: str | None = None
    exp_month: int | None = None
    exp_year: int | None = None
    is_default: bool = Field(description="used for the subscription's and the invoices' charges")


class PaymentMethodList(_Out):
    account_id: str
    payment_methods: list[PaymentMethodOut]


def dump(model: BaseModel) -> Any:
    return model.model_dump(mode="json", by_alias=True)
