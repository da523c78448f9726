"""What the gateway's per-request check reads from the store, kept in memory (issue 21, docs/performance.md
"The gateway's check"): the caller behind a credential (an API key or a verified JWT), which accounts it
reaches (``account_access``), and each account's subscription history.

Invalidation. Any write to the store through this process (an INSERT, UPDATE or DELETE on a table other than
the outboxes and the webhook log) empties the whole cache twice: when the statement runs and when its
connection goes back to the pool, i.e. after the commit. A lookup that started reading the store before a
change is not kept (``_generation``), so after a change commits no request of this process answers from the
state before it: a revoked key, a removed or demoted member (and the keys whose creator it was: a key works
while its creator is an owner or admin, ``orgs.authenticate_key``), an accepted invitation, a subscription
change all take effect on the next request. Changes made by *another* process (another API replica, the
``meterline api`` CLI) are seen after at most ``ttl`` seconds (``METERLINE_API_CACHE_SECONDS``, default 2):
every entry expires then, and a JWT's entry at its ``exp`` at the latest. ``ttl`` 0 turns the cache off.

Only successes and 404s are kept (never a 401), so failed credentials still go to the store and to the
failure throttle every time; the cache is bounded (oldest entries dropped first). Past half its life an
entry is read again by one request while the others keep answering from it, so entries in use are renewed
before they expire rather than all missing at once.

On the event loop (``INLINE``) a miss raises ``NeedsStore`` instead of reading: the dispatcher then runs the
handler again in a worker thread (streams/api/routing.py), so the loop never waits for the store.
"""

from __future__ import annotations

import contextvars
import re
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Engine, event

from streams.api.errors import ApiError

T = TypeVar("T")

#: Set while a handler runs on the event loop: a miss must not read the store there.
INLINE: contextvars.ContextVar[bool] = contextvars.ContextVar("meterline_api_inline", default=False)

#: Tables whose writes change nothing the cache holds (the relays write them all the time; an audit entry comes
#: with the change it records, which invalidates).
_UNRELATED = frozenset(
    {"outbox", "stripe_outbox", "webhook_events", "invoice_payments", "alembic_version", "audit_log"}
)
_WRITE = re.compile(r'^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)', re.IGNORECASE)
_WROTE = "meterline_cache_wrote"


class NeedsStore(Exception):
    """A cache miss on the event loop: run the handler in a worker thread."""


class _Refused:
    """A cached 404 (the account does not exist, or not for this caller)."""

    __slots__ = ("code", "message")

    def __init__(self, code: str, message: str) -> None:
        self.code, self.message = code, message


class StoreCache:
    def __init__(self, ttl: float = 2.0, max_entries: int = 50_000, clock: Callable[[], float] = time.time) -> None:
        self.ttl, self.max_entries, self._clock = ttl, max_entries, clock
        # (kind, key) -> (expires, refresh from, value)
        self._entries: dict[tuple[str, Any], tuple[float, float, Any]] = {}
        self._refreshing: dict[tuple[str, Any], float] = {}  # entries one request is reloading, since when
        self._generation = 0
        self._lock = threading.Lock()
        self.hits = self.misses = self.invalidations = 0

    def invalidate(self) -> None:
        """Forget everything (a write to the store): lookups started before are not kept either."""
        with self._lock:
            self._generation += 1
            self._entries.clear()
            self._refreshing.clear()
            self.invalidations += 1

    def get(self, kind: str, key: Any, load: Callable[[], T], expires: Callable[[T], float] | None = None) -> T:
        """The cached answer of ``load()`` for (``kind``, ``key``); ``expires(value)`` may shorten its life
        (epoch seconds). A 404 ``ApiError`` of ``load`` is cached and raised again; other errors are not.

        Past half its life an entry is read again by one request (in a worker thread) while the others keep
        answering from it: under steady traffic entries are renewed before they expire, instead of every
        request in flight missing at once when they do (that burst of store reads was the p99)."""
        now = self._clock()
        k = (kind, key)
        hit = self._entries.get(k)
        inline = INLINE.get()
        if hit is not None and hit[0] > now:
            if now < hit[1] or (inline and self._refreshing.get(k, -1.0) > now - self.ttl):
                self.hits += 1
                value = hit[2]
                if isinstance(value, _Refused):
                    raise ApiError(404, value.code, value.message)
                return value  # type: ignore[no-any-return]
            if inline:
                if len(self._refreshing) > self.max_entries:
                    self._refreshing.clear()
                self._refreshing[k] = now  # this request reloads it, in a worker thread
                raise NeedsStore
        elif inline:  # never read the store on the event loop (with no cache too)
            raise NeedsStore
        self.misses += 1
        generation = self._generation
        try:
            value = load()
        except ApiError as exc:
            if exc.status == 404:
                self._put(kind, key, _Refused(exc.code, exc.message), now + self.ttl, generation, now)
            else:  # refused now (a key revoked by another process): the old answer goes at once
                with self._lock:
                    self._entries.pop(k, None)
                    self._refreshing.pop(k, None)
            raise
        until = now + self.ttl
        if expires is not None:
            until = min(until, expires(value))
        self._put(kind, key, value, until, generation, now)
        return value

    def _put(self, kind: str, key: Any, value: Any, until: float, generation: int, now: float | None = None) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            if generation != self._generation:  # the store changed while this was read: it may be stale
                return
            entries = self._entries
            k = (kind, key)
            entries.pop(k, None)  # re-inserted last: the dict's order is the order of loads
            start = self._clock() if now is None else now
            entries[k] = (until, start + (until - start) / 2, value)
            self._refreshing.pop(k, None)
            if len(entries) > self.max_entries:
                for old in list(entries)[: max(1, self.max_entries // 10)]:  # oldest first (insertion order)
                    entries.pop(old, None)

    def watch(self, engine: Engine) -> None:
        """Invalidate on every write through ``engine``: when it runs and after its commit (pool check-in)."""

        @event.listens_for(engine, "before_cursor_execute")
        def _statement(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
            m = _WRITE.match(statement)
            if m is not None and m.group(1).lower() not in _UNRELATED:
                conn.info[_WROTE] = True
                self.invalidate()

        @event.listens_for(engine.pool, "checkin")
        def _checkin(dbapi_conn: Any, record: Any) -> None:
            if record is not None and record.info.pop(_WROTE, False):
                self.invalidate()

        @event.listens_for(engine, "commit")
        def _commit(conn: Any) -> None:
            # the pool check-in may come late (a session kept open after its commit): also just before
            if conn.info.get(_WROTE):
                self.invalidate()
