"""The API's store cache (streams/api/store_cache.py) on its own: a read that overlaps a change is not kept,
entries end at their own expiry or the bound, 404s are kept and 401s never, a miss on the event loop signals
``NeedsStore`` instead of reading, and the size stays bounded."""

from __future__ import annotations

import pytest

from streams.api.errors import ApiError
from streams.api.store_cache import INLINE, NeedsStore, StoreCache


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_a_read_overlapping_a_change_is_not_kept() -> None:
    cache = StoreCache(ttl=2, clock=Clock())

    def load_during_a_write() -> str:
        cache.invalidate()  # another thread's write commits while this one reads
        return "old"

    assert cache.get("caller", "k", load_during_a_write) == "old"
    assert cache.get("caller", "k", lambda: "new") == "new"
    assert cache.get("caller", "k", lambda: "never read") == "new"


def test_entries_end_at_their_expiry_or_the_bound() -> None:
    clock = Clock()
    cache = StoreCache(ttl=2, clock=clock)
    cache.get("caller", "jwt", lambda: "ann", lambda _: clock.now + 0.5)  # a token expiring in 0.5 s
    cache.get("caller", "key", lambda: "key")
    clock.now += 0.5
    assert cache.get("caller", "jwt", lambda: "again") == "again"
    assert cache.get("caller", "key", lambda: "again") == "key"
    clock.now += 1.5
    assert cache.get("caller", "key", lambda: "again") == "again"


def test_404_is_kept_401_never() -> None:
    cache = StoreCache(ttl=2, clock=Clock())
    calls = []

    def refuse(status: int) -> str:
        calls.append(status)
        raise ApiError(status, "x", "no")

    for status in (404, 404, 401, 401):
        with pytest.raises(ApiError) as exc:
            cache.get("access", status, lambda status=status: refuse(status))  # type: ignore[misc]
        assert exc.value.status == status
    assert calls == [404, 401, 401]


def test_inline_miss_does_not_read() -> None:
    cache = StoreCache(ttl=2, clock=Clock())
    token = INLINE.set(True)
    try:
        with pytest.raises(NeedsStore):
            cache.get("history", "acct", lambda: pytest.fail("read the store on the event loop"))
    finally:
        INLINE.reset(token)
    cache.get("history", "acct", lambda: "h")
    token = INLINE.set(True)
    try:
        assert cache.get("history", "acct", lambda: "other") == "h"
    finally:
        INLINE.reset(token)


def test_bounded() -> None:
    cache = StoreCache(ttl=2, max_entries=100, clock=Clock())
    for i in range(1_000):
        cache.get("access", i, lambda i=i: i)  # type: ignore[misc]
    assert len(cache._entries) <= 100
    assert cache.get("access", 999, lambda: -1) == 999  # the newest are kept


def test_renewed_by_one_request_past_half_life() -> None:
    clock = Clock()
    cache = StoreCache(ttl=2, clock=clock)
    cache.get("caller", "k", lambda: "v1")
    clock.now += 1.1  # past half its life: one inline request goes to reload it, the others keep answering

    def inline_get() -> str:
        token = INLINE.set(True)
        try:
            return cache.get("caller", "k", lambda: pytest.fail("read the store on the event loop"))
        finally:
            INLINE.reset(token)

    with pytest.raises(NeedsStore):
        inline_get()
    assert inline_get() == "v1"
    assert cache.get("caller", "k", lambda: "v2") == "v2"  # the reload, in a worker thread
    clock.now += 0.9
    assert inline_get() == "v2"  # renewed: it did not expire at 2 s


def test_an_answer_refused_on_reload_goes_at_once() -> None:
    clock = Clock()
    cache = StoreCache(ttl=2, clock=clock)
    cache.get("caller", "k", lambda: "key of ann")
    clock.now += 1.1

    def revoked() -> str:
        raise ApiError(401, "invalid_api_key", "revoked")

    with pytest.raises(ApiError):
        cache.get("caller", "k", revoked)  # another process revoked it
    token = INLINE.set(True)
    try:
        with pytest.raises(NeedsStore):  # not answered from the old entry any more
            cache.get("caller", "k", lambda: "never")
    finally:
        INLINE.reset(token)


def test_no_cache_never_reads_on_the_event_loop() -> None:
    cache = StoreCache(ttl=0, clock=Clock())
    assert cache.get("history", "acct", lambda: "h") == "h"
    token = INLINE.set(True)
    try:
        with pytest.raises(NeedsStore):
            cache.get("history", "acct", lambda: pytest.fail("read the store on the event loop"))
    finally:
        INLINE.reset(token)
