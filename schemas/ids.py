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
#: For msgspec (which applies a pattern with ``re.search``).
ID_RE_PATTERN = ID.pattern
EVENT_ID_RE_PATTERN = EVENT_ID.pattern
