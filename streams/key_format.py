"""The format and check of every Meterline API key (ingest keys ``mlk_…``, billing API keys ``mlb_…``).

A key is ``<prefix>_<key id>_<secret>``; only the SHA-256 of the secret is kept (secrets are 256-bit
random, so a plain hash is as strong as a slow one), compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

#: The longest key id looked up; a longer one is malformed.
MAX_KEY_ID = 32


@dataclass(frozen=True, slots=True)
class NewKey:
    key_id: str
    secret_sha256: str
    plain: str  # shown once, never stored


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_key(prefix: str, id_bytes: int) -> NewKey:
    """A fresh key: an id of ``id_bytes`` random bytes (hex) and a 256-bit secret."""
    key_id = secrets.token_hex(id_bytes)
    secret = secrets.token_urlsafe(32)
    return NewKey(key_id, secret_hash(secret), f"{prefix}_{key_id}_{secret}")


def parse_key(prefix: str, presented: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed key with ``prefix``, else None. The id must be short ASCII
    letters and digits before it is ever looked up (a NUL, for one, breaks PostgreSQL)."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != prefix:
        return None
    key_id = parts[1]
    if not key_id or len(key_id) > MAX_KEY_ID or not key_id.isascii() or not key_id.isalnum():
        return None
    return key_id, parts[2]


def secret_matches(secret_sha256: str, secret: str) -> bool:
    """Whether ``secret`` is the one whose hash is stored, in constant time."""
    return hmac.compare_digest(secret_sha256, secret_hash(secret))
