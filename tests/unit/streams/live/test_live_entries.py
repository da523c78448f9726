"""The live-usage table's records (streams/live/entries.py): long seat lists kept apart from the entry.

Rating from a table in this format must give what rating from whole entries gives, to the byte: from
the first step, from a table written whole by an earlier version (a running deployment), and after a
crash that stored an account's seats record but not its entry.
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from typing import Any
from unittest.mock import patch

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.events import AcceptedEvent, epoch_ms
from streams.live import entries, fold
from streams.live.entries import EntryTable, seats_key
from streams.live.fold import fold_step
from streams.live.rating import LiveOutputs, rate_batch
from tests.unit.streams.live.test_live_fold import NOW, T0, Path, make_events, subscriptions, version

SEAT_SLOT = "o1|2026-11|active_user"


class Apart(Path):
    """A path whose table is written as the agent writes it: ``EntryTable`` records, keys as bytes."""

    def __init__(self, fn: Any, versions: list[Any], decoded: bool = False) -> None:
        super().__init__(fn, versions, decoded)
        self.records = EntryTable()
        self.store: dict[bytes, bytes] = {}
        self.written: list[list[tuple[bytes, bytes]]] = []  # each step's records, in order

    def states(self, events: list[AcceptedEvent]) -> dict[str, dict[str, Any] | None]:
        return {
            e.account_id: self.entries[e.account_id]
            if self.decoded and e.account_id in self.entries
            else self.records.decode(e.account_id, self.store.get)
            for e in events
        }

    def rate(self, events: list[AcceptedEvent]) -> LiveOutputs:
        states = self.states(events)
        out: LiveOutputs = self.fn(events, states, self.resolver, NOW)
        step: list[tuple[bytes, bytes]] = []
        for account, entry in out.states.items():
            step += self.records.encode(account, states[account], entry)
        self.written.append(step)
        self.store.update(step)
        self.entries.update(out.states)
        return out

    def read(self, account: str) -> dict[str, Any] | None:
        return EntryTable().decode(account, self.store.get)


def _same(want: LiveOutputs, got: LiveOutputs) -> None:
    assert got.rated == want.rated
    assert got.quota_records == want.quota_records
    assert got.alerts == want.alerts
    assert got.states == want.states


@settings(max_examples=50, deadline=None)
@given(
    st.randoms(use_true_random=False),
    st.lists(st.integers(1, 80), min_size=1, max_size=5),
    st.booleans(),
    st.integers(1, 4),
)
def test_rating_from_records_apart_equals_rating_from_whole_entries(
    rng: random.Random, sizes: list[int], decoded: bool, apart_from: int
) -> None:
    """Seat lists of ``apart_from`` users or more written apart (the generated steps have five users);
    the fast path rates from that table, the reference from whole entries: the same outputs, and every
    entry read back whole is the reference's."""
    versions = subscriptions(rng)
    reference, fast = Path(rate_batch, versions), Apart(fold_step, versions, decoded)
    start = 0
    with patch.object(entries, "SEATS_APART_FROM", apart_from):
        for n in sizes:
            step = make_events(rng, n, start)
            start += n
            _same(reference.rate(step), fast.rate(step))
            for account, whole in reference.table.items():
                assert fast.read(account) == orjson.loads(whole)
    for key, value in fast.store.items():  # the seat lists are in their own records, not in the entries
        if key.endswith(b"\x00seats"):
            stored = orjson.loads(fast.store[key.removesuffix(b"\x00seats")])
            assert all("users" not in stored[slot] for slot in orjson.loads(value)["lists"])


def _org_step(k: int, users: range, metric: str = "api_calls") -> list[AcceptedEvent]:
    at = epoch_ms(NOW - timedelta(minutes=30)) + k * 1000
    return [
        AcceptedEvent(
            event_id=f"s{k}-{u}",
            ts_ms=at + i,
            user_id=f"u{u:03d}",
            org_id="o1",
            metric=metric,
            quantity=Decimal(1),
            source="test",
            properties={},
            account_id="o1",
        )
        for i, u in enumerate(users)
    ]


STEPS = [range(0, 40), range(20, 50), range(10, 30), range(45, 70), range(0, 5)]


def _org() -> list[Any]:
    return [version("o1", "org", "enterprise", T0 - timedelta(days=60), 1)]


@pytest.mark.parametrize("decoded", [False, True])
def test_a_long_seat_list_is_written_apart_and_only_when_seats_join(decoded: bool) -> None:
    fold.forget_memos()
    reference, fast = Path(rate_batch, _org()), Apart(fold_step, _org(), decoded)
    for k, users in enumerate(STEPS):
        _same(reference.rate(_org_step(k, users)), fast.rate(_org_step(k, users)))
    keys = [[key for key, _ in step] for step in fast.written]
    seats = seats_key("o1")
    # 40 users: apart from the first step; no newcomer in steps 3 and 5: the entry alone.
    assert keys == [[seats, b"o1"], [seats, b"o1"], [b"o1"], [seats, b"o1"], [b"o1"]]
    entry = orjson.loads(fast.store[b"o1"])
    assert "users" not in entry[SEAT_SLOT] and entry[SEAT_SLOT]["used"] == "70"
    doc = orjson.loads(fast.store[seats])
    assert doc["lists"][SEAT_SLOT] == [f"u{u:03d}" for u in range(70)]
    assert doc["joined"] == {SEAT_SLOT: [f"u{u:03d}" for u in range(50, 70)]}
    assert fast.read("o1") == orjson.loads(reference.table["o1"])


def test_entries_written_whole_by_an_earlier_version_are_read_and_moved_on_their_next_write() -> None:
    """A running deployment's table holds whole entries (seat lists inline): the first step reads them
    as they are, and writes the seats record even though no seat joined."""
    fold.forget_memos()
    reference, fast = Path(rate_batch, _org()), Apart(fold_step, _org())
    for k, users in enumerate(STEPS[:2]):
        reference.rate(_org_step(k, users))
    fast.store = {key.encode(): value for key, value in reference.table.items()}  # the old format, as it was
    assert len(orjson.loads(fast.store[b"o1"])[SEAT_SLOT]["users"]) == 50
    for k, users in enumerate(STEPS[2:], start=2):
        _same(reference.rate(_org_step(k, users)), fast.rate(_org_step(k, users)))
    assert [key for key, _ in fast.written[0]] == [seats_key("o1"), b"o1"]  # moved, with no newcomer
    assert orjson.loads(fast.written[0][0][1])["joined"] == {}  # nobody joined in that step
    assert "users" not in orjson.loads(fast.store[b"o1"])[SEAT_SLOT]
    assert fast.read("o1") == orjson.loads(reference.table["o1"])


@pytest.mark.parametrize("metric", ["api_calls", "active_user"])
def test_a_crash_between_the_seats_record_and_the_entry_changes_nothing(metric: str) -> None:
    """The seats record of a step is stored, its entry is not (the worker died between the two), and
    the step's events come again: the same rated lines and quota states as without the crash."""
    fold.forget_memos()
    reference, fast = Path(rate_batch, _org()), Apart(fold_step, _org())
    for k, users in enumerate(STEPS[:2]):
        reference.rate(_org_step(k, users, metric))
        fast.rate(_org_step(k, users, metric))
    third = _org_step(3, STEPS[3], metric)  # 20 newcomers
    want = reference.rate(third)
    lost = Apart(fold_step, _org())
    lost.store = dict(fast.store)
    before = fast.entries["o1"]
    records = fast.records.encode("o1", before, fold_step(third, {"o1": before}, fast.resolver, NOW).states["o1"])
    assert [key for key, _ in records] == [seats_key("o1"), b"o1"]
    lost.store.update(records[:1])  # the seats record only
    fold.forget_memos()
    assert lost.read("o1") == fast.read("o1")  # read as of the entry's step
    _same(want, lost.rate(third))
    assert lost.read("o1") == orjson.loads(reference.table["o1"])
