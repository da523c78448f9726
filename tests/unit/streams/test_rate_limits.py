"""The token buckets behind every request limit (streams/rate_limits.py): hand-worked numbers, time passed in."""

from __future__ import annotations

from streams.rate_limits import Buckets, TokenBucket


def test_a_minute_budget_is_a_burst_then_refills_evenly() -> None:
    b = TokenBucket.full(60, now=0.0)
    assert all(b.take(0.0).allowed for _ in range(60))
    refused = b.take(0.0)
    # 60 a minute = 1 a second: the next token comes in 1 s; the bucket is full again in 60 s.
    assert (refused.allowed, refused.remaining, refused.retry_after, refused.reset_after) == (False, 0, 1, 60)
    # 30 s later 30 tokens are back, not more.
    assert sum(b.take(30.0).allowed for _ in range(31)) == 30


def test_retry_after_is_the_time_to_the_next_whole_token() -> None:
    b = TokenBucket.full(6, now=100.0)  # one token every 10 s
    for _ in range(6):
        assert b.take(100.0).allowed
    assert b.take(100.0).retry_after == 10
    assert b.take(104.0).retry_after == 6  # 0.4 of a token refilled: 6 s to go
    assert b.take(110.0).allowed


def test_peek_takes_nothing_and_the_refill_never_exceeds_the_burst() -> None:
    b = TokenBucket.full(10, now=0.0)
    for _ in range(4):
        b.take(0.0)
    assert b.peek(0.0).remaining == 6
    assert b.peek(0.0).remaining == 6
    assert b.peek(3600.0).remaining == 10


def test_buckets_are_per_key_and_zero_means_no_limit() -> None:
    buckets = Buckets()
    for _ in range(3):
        assert buckets.take("org_a", 3, 0.0).allowed
    assert not buckets.take("org_a", 3, 0.0).allowed
    assert buckets.take("org_b", 3, 0.0).allowed  # another account has its own budget
    assert all(buckets.take("free", 0, 0.0).allowed for _ in range(1000))
    assert buckets.peek("unseen", 60, 0.0).remaining == 60
    assert len(buckets) == 2  # peeking creates nothing


def test_a_new_limit_keeps_the_share_used() -> None:
    buckets = Buckets()
    for _ in range(45):
        buckets.take("org_a", 60, 0.0)
    # An upgrade from 60 to 600 a minute with a quarter left: a quarter of 600 left.
    assert buckets.peek("org_a", 600, 0.0).remaining == 150


def test_failure_throttle_looks_first_and_takes_on_failure() -> None:
    buckets = Buckets()
    for _ in range(2):
        assert buckets.blocked("10.0.0.1", 2, 0.0) is None
        buckets.take("10.0.0.1", 2, 0.0)
    blocked = buckets.blocked("10.0.0.1", 2, 0.0)
    assert blocked is not None and blocked.retry_after == 30  # 2 a minute: one every 30 s
    assert buckets.blocked("10.0.0.1", 2, 30.0) is None


def test_the_number_of_buckets_is_bounded() -> None:
    buckets = Buckets(max_keys=2)
    buckets.take("a", 1, 0.0)
    buckets.take("b", 1, 0.0)
    buckets.take("a", 1, 0.0)  # a used last: b is the oldest
    buckets.take("c", 1, 0.0)
    assert len(buckets) == 2
    assert buckets.take("b", 1, 0.0).allowed  # dropped: full again
    assert not buckets.take("c", 1, 0.0).allowed
