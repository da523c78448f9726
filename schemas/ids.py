"""The one pattern of identifiers (docs/events.md "Identifiers"), shared by ingest and the billing API.

Account identifiers (``user_id``, ``org_id``; the API's account, member and subscription owner ids)
are 1-128 characters of ASCII letters, digits and ``_ . : @ -``, starting with a letter or a
digit: what ingest accepts the API can look up, and NUL, whitespace, zero-width, bidi-control or other
look-alike characters never enter the pipeline. A ``source`` has the same characters, up to 160 (the
billing API's ``api:user:<user id>``). ``event_id`` is wider (any printable ASCII but space,
e.g. an RFC 3339 time with ``+``), still never a control or invisible character.

``*_PATTERN`` are for JSON Schema, OpenAPI and pydantic (``$`` is the end of text there); the compiled
``ID`` and ``EVENT_ID`` are for Python's ``re`` (``\\Z``: ``$`` would let a trailing newline through).
"""

from __future__ import annotations

import re

MAX_ID = 128
#: A source is longer than an id: the billing API's ``api:user:<user id>`` (docs/events.md).
MAX_SOURCE = 160
_ID_BODY = r"[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}"
_SOURCE_BODY = r"[A-Za-z0-9][A-Za-z0-9_.:@-]{0,159}"
_EVENT_ID_BODY = r"[!-~]{1,128}"

ID_PATTERN = f"^{_ID_BODY}$"
SOURCE_PATTERN = f"^{_SOURCE_BODY}$"
EVENT_ID_PATTERN = f"^{_EVENT_ID_BODY}$"
#: Invoice ids (docs/invoices.md): ``in_<account>_<period>`` as settlement finalizes them
#: (``sinks.clickhouse.settlement.invoices.invoice_id_of``), then ``-r<n>`` for the n-th reissue of a void one
#: (``reissue_id``): at most 3 + 128 + 1 + 7 + 5 characters.
INVOICE_ID_PATTERN = r"^in_[A-Za-z0-9_.:@-]{1,128}_\d{4}-\d{2}(-r[1-9]\d{0,2})?$"
ID = re.compile(rf"\A{_ID_BODY}\Z")
SOURCE = re.compile(rf"\A{_SOURCE_BODY}\Z")
EVENT_ID = re.compile(rf"\A{_EVENT_ID_BODY}\Z")

# The ingest hot path checks ids without a regex per event (a regex per field tripled the decode time):
# account ids repeat, so the ones seen valid are remembered (bounded); an event id is checked with C string
# methods. Both agree exactly with the patterns above (tests/unit/schemas/test_ids.py).
KNOWN_IDS: set[str] = set()  # account ids seen valid (never an invalid one)
KNOWN_SOURCES: set[str] = set()  # sources seen valid
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


def valid_source(value: str) -> bool:
    """Whether ``value`` matches ``SOURCE_PATTERN`` (the id characters, up to ``MAX_SOURCE``)."""
    if value in KNOWN_SOURCES:
        return True
    if SOURCE.fullmatch(value) is None:
        return False
    if len(KNOWN_SOURCES) >= _KNOWN_MAX:
        KNOWN_SOURCES.clear()
    KNOWN_SOURCES.add(value)
    return True


def valid_event_id(value: str) -> bool:
    """Whether ``value`` matches ``EVENT_ID_PATTERN``: 1-128 printable ASCII characters, no space."""
    return 0 < len(value) <= MAX_ID and value.isascii() and value.isprintable() and " " not in value
