"""The live-usage table's records: an account's entry, with its long seat lists kept apart.

An organization's seat list (the distinct users of a period: hundreds late in a period) used to live
inside its entry, so every step with the organization's usage encoded and wrote it whole (~13 KB) to
RocksDB and the changelog, and that cost grew as the period filled (docs/performance.md). A seat list
of ``SEATS_APART_FROM`` users or more is now written under a key of its own, ``seats_key(account)``
(one record per routing account holding all its long lists), and only in a step that changed one of
them; the entry's seat slot is written without its ``users``. In memory an entry is what it always
was: the fold (``streams/live/fold.py``) and the reference (``streams/live/rating.py``) never see
the difference.

Reading: a seat slot that holds ``users`` (every record written before this format, and short lists)
is taken as it is; a seat slot without ``users`` takes them from the seats record. So a running
deployment needs no migration: records of the old format are read as they are, and the first step that
writes such an account's entry writes its seats record too. Going back to a version before this format
would read the moved seat lists as empty: do not downgrade a worker over this table.

Order: an account's seats record goes to the changelog before its entry, on the same partition, so a
crash between the two can leave the seats one write ahead of the entry, never behind. The record
names the users its last write added to each list (``joined``): reading an entry whose seat count is
that many short of its list takes them out again, so the entry and its seats are those of the same
step, the step's events (consumed again) add them back, and the seat count and its rated line are
what an uninterrupted step gives.

A seats record may hold the list of a slot its entry no longer has (the slot's period dropped by
``_pruned``): reading never looks it up, and the next write of the record leaves it out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from rating.seats import SEAT_METRIC

#: Seat lists at least this long are written apart from the entry (a short one costs little inline,
#: and a single user's account, with one seat, needs no second record).
SEATS_APART_FROM = 32
_SEAT_SLOT = "|" + SEAT_METRIC  # slot keys are "billed|period|metric"


def seats_key(account: str) -> bytes:
    """The key of ``account``'s seats record: NUL is no character of an account id (schemas/ids.py),
    so it never meets an entry's key."""
    return account.encode() + b"\x00seats"


def decode_value(raw: Any) -> dict[str, Any] | None:
    """A table value as a dict: bytes as written, or already decoded when Faust rebuilt the table
    from its changelog (recovery hands back deserialized values)."""
    if raw is None or raw == b"":
        return None
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, bytes | bytearray | memoryview | str):
        doc = orjson.loads(raw)
        return doc if isinstance(doc, dict) else None
    raise TypeError(f"unexpected live-usage table value {type(raw).__name__}")


class EntryTable:
    """Reads and writes entries in this format, for one worker.

    It remembers the accounts whose entry was read in the old format with a long seat list inline:
    their next write must write the seats record, even if no seat joined in that step."""

    def __init__(self) -> None:
        self._inline: set[str] = set()

    def clear(self) -> None:
        self._inline.clear()

    def decode(self, account: str, get: Callable[[bytes], Any]) -> dict[str, Any] | None:
        """``account``'s entry, read with ``get`` (the store's, by key): its record, and its seats
        record when a seat slot's users are apart."""
        entry = decode_value(get(account.encode()))
        if entry is None:
            return None
        apart: Mapping[str, Any] | None = None
        for key, slot in entry.items():
            if not key.endswith(_SEAT_SLOT) or not isinstance(slot, dict):
                continue
            if "users" in slot:
                if len(slot["users"]) >= SEATS_APART_FROM:
                    self._inline.add(account)
                continue
            if apart is None:
                apart = decode_value(get(seats_key(account))) or {}
            users = apart.get("lists", {}).get(key)
            if users is not None:
                entry[key] = {**slot, "users": _as_of_entry(users, apart.get("joined", {}).get(key), slot.get("used"))}
        return entry

    def encode(
        self, account: str, before: Mapping[str, Any] | None, after: Mapping[str, Any]
    ) -> list[tuple[bytes, bytes]]:
        """The records (key, value) that store ``after``, the entry that replaces ``before`` (as read
        or last written): the seats record first when it changed, then the entry."""
        changed = account in self._inline
        self._inline.discard(account)
        apart: dict[str, Any] = {}
        joined: dict[str, list[str]] = {}
        slim: dict[str, Any] | None = None
        for key, slot in after.items():
            if not key.endswith(_SEAT_SLOT):
                continue
            users = slot.get("users")
            if users is None or len(users) < SEATS_APART_FROM:
                continue
            apart[key] = users
            if slim is None:
                slim = dict(after)
            slim[key] = {k: v for k, v in slot.items() if k != "users"}
            prev = before.get(key) if before is not None else None
            # Entries are never changed in place: a seat list that grew is a new list.
            was = prev.get("users") if prev is not None else None
            if was is not users:
                changed = True
                joined[key] = sorted(set(users).difference(was or ()))
        out: list[tuple[bytes, bytes]] = []
        if changed:
            out.append((seats_key(account), orjson.dumps({"lists": apart, "joined": joined})))
        out.append((account.encode(), orjson.dumps(slim if slim is not None else after)))
        return out


def _as_of_entry(users: list[str], joined: list[str] | None, used: Any) -> list[str]:
    """The seat list as of the entry's step: without the last write's newcomers when the entry counts
    exactly that many fewer seats (a crash between the seats record and the entry)."""
    try:
        count = Decimal(used) if used is not None else Decimal(0)
    except (InvalidOperation, TypeError):
        return users
    if not joined or len(users) <= count or len(users) - len(joined) != count:
        return users
    gone = set(joined)
    return [u for u in users if u not in gone]
