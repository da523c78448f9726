"""The one pattern of identifiers (docs/events.md "Identifiers"), shared by ingest and the billing API.

Account identifiers (``user_id``, ``org_id``, ``source``; the API's account, member and subscription
owner ids) are 1-128 characters of ASCII letters, digits and ``_ . : @ -``, starting with a letter or a
digit: what ingest accepts the API can look up, and NUL, whitespace, zero-width, bidi-control or other
look-alike characters never enter the pipeline. ``event_id`` is wider (any printable ASCII but space,
e.g. an RFC 3339 time with ``+``), still never a control or invisible character.

``*_PATTERN`` are for JSON Schema, OpenAPI and pydantic (``$`` is the end of text there); the compiled
``ID`` and ``EVENT_ID`` are for Python's ``re`` (``\\Z``: ``$`` would let a trailing newline through).
"""

from __future__ import annotations

import re

MAX_ID = 128
_ID_BODY = r"[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}"
_EVENT_ID_BODY = r"[!-~]{1,128}"

ID_PATTERN = f"^{_ID_BODY}$"
EVENT_ID_PATTERN = f"^{_EVENT_ID_BODY}$"
ID = re.compile(rf"\A{_ID_BODY}\Z")
EVENT_ID = re.compile(rf"\A{_EVENT_ID_BODY}\Z")

# The ingest hot path checks ids without a regex per event (a regex per field tripled the decode time):
# account ids repeat, so the ones seen valid are remembered (bounded); an event id is checked with C string
# methods. Both agree exactly with the patterns above (tests/unit/test_ids.py).
KNOWN_IDS: set[str] = set()  # account ids seen valid (never an invalid one)
_KNOWN_MAX = 200_000


def valid_id(value: str) -> bool:
    """Whether ``value`` matches ``ID_PATTERN``."""
    if value in KNOWN_IDS:
        return True
    if ID.fullmatch(value) is None:
        return False
    if len(KNOWN_IDS) >= _KNOWN_MAX:
        KNOWN_IDS.clear()
    KNOWN_IDS.add(value)
    return True


def valid_event_id(value: str) -> bool:
    """Whether ``value`` matches ``EVENT_ID_PATTERN``: 1-128 printable ASCII characters, no space."""
    return 0 < len(value) <= MAX_ID and value.isascii() and value.isprintable() and " " not in value
