"""``POST /api/billing/usage/record``: the HTTP ingest's own path behind the billing API's auth.

The billing API checks who may record what (an organization API key records for members of its
organization; an owner or admin for any member of theirs; a member only its own usage; viewers
nothing), then hands the permitted events to the ingest service (``streams.ingest.service``, bound once
to the pipeline's decoder limits and a Kafka forwarder to ``usage.events``): the same validation,
``event_id`` defaults, per-event results and "2xx means Kafka acknowledged" as ``POST /v1/events``.
Events get the source bound to the caller's credential, whatever ``source`` they carry (docs/events.md):
``api:<organization>`` for an organization's API key or a token acting in an organization, and
``api:user:<user id>`` for a personal token. The dedupe key is ``(source, event_id)``, so usage recorded
here can never suppress or replace another sender's events (a platform service's, another account's).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio.from_thread
from sqlalchemy.orm import Session

from rating.subscriptions import SubscriptionHistory, billable_org_version
from schemas.decode import DecodeLimits
from schemas.ids import ID
from streams.api.auth import Principal, is_own_account
from streams.api.common import caller
from streams.api.errors import ApiError
from streams.api.limits import record_limit
from streams.api.models import EventResult, UsageRecordIn, UsageRecordResult
from streams.api.routing import Call, Endpoint
from streams.ingest.service import BadBody, Forwarder, Ingest, NotStored, parse_events, rejected
from streams.kafka.forwarder import KafkaForwarder
from streams.settings import Settings
from streams.store import orgs
from streams.store import subscription_store as subs
from streams.store.orgs import Role

_RECORDERS: frozenset[Role] = frozenset({"owner", "admin", "member"})


def bound_source(who: Principal, ev: Any) -> str:
    """The source of ``ev`` recorded by ``who`` (permitted by ``_Scope.denial``): the namespace of the
    organization it names (the caller acts in it), else the caller's own personal one."""
    org = ev.get("org_id") if isinstance(ev, dict) else None
    if isinstance(org, str) and org:
        return f"api:{org}"
    if who.user_id is not None:
        return f"api:user:{who.user_id}"
    return f"api:{who.organization_id}"


class LazyKafkaForwarder:
    """A ``KafkaForwarder`` to the run's ``usage.events``, started on first use (the API starts without Kafka)
    and restarted after a failed start."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._inner: KafkaForwarder | None = None
        self._lock = asyncio.Lock()

    async def send(self, events: list[dict[str, Any]]) -> None:
        async with self._lock:
            if self._inner is None:
                from streams.kafka.admin import ensure_topics
                from streams.topics import EVENTS

                await ensure_topics(self._settings)
                fwd = KafkaForwarder(self._settings.kafka_bootstrap, self._settings.topic(EVENTS))
                try:
                    await fwd.start()
                except BaseException:
                    await fwd.stop()
                    raise
                self._inner = fwd
        await self._inner.send(events)

    async def stop(self) -> None:
        async with self._lock:
            if self._inner is not None:
                await self._inner.stop()
                self._inner = None


def ingest_app(forwarder: Forwarder, limits: DecodeLimits, clock: Callable[[], datetime]) -> Ingest:
    """The ingest service this endpoint hands permitted events to (``ApiContext.ingest``)."""
    return Ingest(forwarder, limits, clock)


class _Scope:
    """Who the caller may record usage for (memberships looked up once per request)."""

    def __init__(self, s: Session, who: Principal) -> None:
        self.s, self.who = s, who
        self._roles: dict[str, Role | None] = {}
        self._members: dict[tuple[str, str], bool] = {}
        self._histories: dict[str, SubscriptionHistory] = {}
        self.outside: set[str] = set()  # organizations named that the caller does not act in
        self.foreign = 0  # events denied for naming one of them

    def _role(self, org_id: str) -> Role | None:
        if org_id not in self._roles:
            self._roles[org_id] = self.who.role_in(self.s, org_id)
        return self._roles[org_id]

    def _is_member(self, org_id: str, user_id: str) -> bool:
        if (org_id, user_id) not in self._members:
            self._members[(org_id, user_id)] = orgs.member(self.s, org_id, user_id) is not None
        return self._members[(org_id, user_id)]

    def denial(self, ev: dict[str, Any]) -> str | None:
        """Why the caller may not record ``ev`` (None: it may; malformed ids are left to the decoder)."""
        user, org = ev.get("user_id"), ev.get("org_id")
        if not isinstance(user, str) or (org is not None and not isinstance(org, str)):
            return None
        if not ID.fullmatch(user) or (org is not None and not ID.fullmatch(org)):
            return None  # never looked up (NUL breaks PostgreSQL): the decoder rejects it as invalid_id
        if not org:
            if is_own_account(self.who, user):
                return None  # a person's own account: their token without 'org' only
            return "without org_id, only a user's own usage can be recorded (user_id = the caller, token without org)"
        role = self._role(org)
        if role is None:
            self.outside.add(org)
            self.foreign += 1
            return f"the caller does not act in organization {org}"
        if role not in _RECORDERS:
            return f"the role {role} may not record usage"
        if role == "member" and self.who.kind == "user":
            return None if user == self.who.user_id else "a member records only its own usage (user_id=<you>)"
        if not self._is_member(org, user):
            return f"{user} is not a member of {org}"
        if user != self.who.user_id and not self._bills_members(org, ev.get("timestamp")):
            # Usage in an organization that does not bill it is the user's own (docs/rating.md): recorded by
            # someone else, it would put charges on that person's personal account, which is theirs alone.
            return f"{org} has no billable subscription at the event's time: only {user} may record it"
        return None

    def _bills_members(self, org_id: str, timestamp: Any) -> bool:
        at = _event_time(timestamp)
        if at is None:
            return True  # malformed: the decoder rejects it with its reason
        if org_id not in self._histories:
            self._histories[org_id] = subs.history(self.s, org_id)
        return billable_org_version(self._histories[org_id], at) is not None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _event_time(value: Any) -> datetime | None:
    """The event's time as the decoder reads it (RFC 3339 with an offset, or epoch ms), None if malformed."""
    try:
        if isinstance(value, int) and not isinstance(value, bool):
            return _EPOCH + timedelta(milliseconds=value)
        if isinstance(value, str):
            at = datetime.fromisoformat(value)
            return at.astimezone(UTC) if at.tzinfo is not None else None
    except (ValueError, OverflowError, OSError):
        return None
    return None


def _events(raw: bytes) -> list[Any]:
    try:
        return parse_events(raw)
    except BadBody as exc:
        raise ApiError(exc.status, exc.code, exc.message) from exc


def _with_source(ev: Any, source: str) -> Any:
    return {**ev, "source": source} if isinstance(ev, dict) else ev


def record_usage(call: Call) -> UsageRecordResult:
    ctype = call.request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    with call.ctx.sessions() as s:
        who = caller(call, s)
        if who.kind == "api_key" and who.key_role not in _RECORDERS:
            raise ApiError(403, "forbidden", f"the role {who.key_role} may not record usage")
        record_limit(s, call.ctx, who)
        events = _events(call.raw)
        scope = _Scope(s, who)
        results: list[dict[str, Any]] = [{} for _ in events]
        permitted: list[int] = []
        denials: list[str] = []
        for i, ev in enumerate(events):
            why = scope.denial(ev) if isinstance(ev, dict) else None
            if why is None:
                permitted.append(i)
            else:
                results[i] = rejected(i, ev.get("event_id"), "not_permitted", why)
                denials.append(why)
    if not permitted:
        if scope.foreign == len(denials):
            # As everywhere in the API: another organization's data is answered as if it did not exist.
            raise ApiError(404, "not_found", f"no organization {sorted(scope.outside)[0]}")
        raise ApiError(403, "forbidden", f"no event may be recorded by this caller: {denials[0]}")
    # The bound source replaces whatever source the caller sent; one ingest call per source.
    groups: dict[str, list[int]] = {}
    for i in permitted:
        groups.setdefault(bound_source(who, events[i]), []).append(i)
    stored = 0
    for n, (source, idx) in enumerate(groups.items()):
        try:
            done = anyio.from_thread.run(call.ctx.ingest, [_with_source(events[i], source) for i in idx], source)
        except NotStored as exc:
            if not stored:
                raise ApiError(503, exc.code, exc.message, {"Retry-After": str(exc.retry_after)}) from exc
            # Earlier sources' events were acknowledged: these were not, and are resent by the caller.
            for j in (j for _, rest in list(groups.items())[n:] for j in rest):
                eid = events[j].get("event_id") if isinstance(events[j], dict) else None
                why = f"not stored, resend with the same event_id: {exc.message}"
                results[j] = rejected(j, eid, exc.code, why)
            break
        for r in done.results:
            i = idx[r["index"]]
            results[i] = {**r, "index": i}
        stored += done.accepted
    out = [EventResult.model_validate(r) for r in results]
    accepted = sum(r.status == "accepted" for r in out)
    if not accepted:
        reasons = "; ".join(f"{r.index}: {r.reason} ({r.detail})" for r in out[:5])
        raise ApiError(422, "no_event_accepted", f"no event was accepted: {reasons}"[:2000])
    return UsageRecordResult(accepted=accepted, rejected=len(out) - accepted, results=out)


ENDPOINTS = [
    Endpoint(
        "POST",
        "/api/billing/usage/record",
        record_usage,
        'Record usage events (one event or {"events": [...]}): the HTTP ingest\'s path, per-event results',
        "usage",
        UsageRecordResult,
        body=UsageRecordIn,
        raw_body=True,
        errors=(400, 401, 403, 404, 413, 415, 422, 503),
        description="Validated by the pipeline's own decoder (docs/events.md) and forwarded to usage.events; a 200 "
        "means Kafka acknowledged every accepted event (on 503 retry with the same event_id). An organization API "
        "key (admin or member) records for members of its organization, an owner or admin for any member of theirs, "
        "a member only its own usage (user_id = the caller), a viewer nothing: such events are rejected with "
        "reason not_permitted (403 when none is permitted; 404 when every event names an organization the caller "
        "does not act in). 422 when no event was accepted.",
    ),
]
