"""Per-source API keys for HTTP ingest, stored hashed in ``<data_dir>/ingest_keys.json``.

A key is ``mlk_<key id>_<secret>``, hashed and checked as ``streams.key_format`` says.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path

import orjson

from schemas.ids import ID
from streams.errors import MeterlineError
from streams.key_format import new_key, parse_key, secret_matches

PREFIX = "mlk"
#: Sources of usage recorded through the billing API (``api:<organization>``, ``api:user:<id>``).
RESERVED_SOURCE_PREFIX = "api:"


class ApiKeyError(MeterlineError):
    """The key store could not be read or written, or a key id is unknown."""


@dataclass(frozen=True, slots=True)
class ApiKey:
    key_id: str
    source: str
    secret_sha256: str
    created_at: str
    revoked: bool = False
    rate_per_minute: int | None = None  # requests a minute (None: the server's default, 0: no limit)


class ApiKeyStore:
    """A small JSON file of hashed keys; re-read on change so a revocation takes effect at once."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._mtime: float | None = None
        self._keys: dict[str, ApiKey] = {}

    def _load(self) -> dict[str, ApiKey]:
        try:
            mtime = self._path.stat().st_mtime
        except FileNotFoundError:
            self._keys, self._mtime = {}, None
            return self._keys
        if mtime != self._mtime:
            try:
                raw = orjson.loads(self._path.read_bytes())
                self._keys = {k: ApiKey(**v) for k, v in raw.items()}
            except (OSError, orjson.JSONDecodeError, TypeError) as exc:
                raise ApiKeyError(f"cannot read the API key store {self._path}: {exc}") from exc
            self._mtime = mtime
        return self._keys

    def _save(self, keys: dict[str, ApiKey]) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        # Created 0600 (never readable by others, not even for a moment), then renamed over the store.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(orjson.dumps({k: asdict(v) for k, v in keys.items()}, option=orjson.OPT_INDENT_2))
        tmp.replace(self._path)
        self._mtime = None

    def create(self, source: str, now: datetime, rate_per_minute: int | None = None) -> tuple[ApiKey, str]:
        """A new key for ``source``; returns the record and the plain key (shown once, never stored)."""
        if not ID.fullmatch(source):
            raise ApiKeyError(f"a key needs a source name matching {ID.pattern} (docs/events.md)")
        if source.startswith(RESERVED_SOURCE_PREFIX):
            # The billing API's namespaces (docs/events.md): no ingest key may write into them.
            raise ApiKeyError(f"sources starting with {RESERVED_SOURCE_PREFIX!r} are reserved for the billing API")
        if rate_per_minute is not None and rate_per_minute < 0:
            raise ApiKeyError("a key's rate limit is a number of requests a minute, 0 or more")
        keys = dict(self._load())
        new = new_key(PREFIX, 6)
        rec = ApiKey(new.key_id, source, new.secret_sha256, now.isoformat(), rate_per_minute=rate_per_minute)
        keys[new.key_id] = rec
        self._save(keys)
        return rec, new.plain

    def revoke(self, key_id: str) -> ApiKey:
        keys = dict(self._load())
        if key_id not in keys:
            raise ApiKeyError(f"no API key with id {key_id!r}")
        keys[key_id] = replace(keys[key_id], revoked=True)
        self._save(keys)
        return keys[key_id]

    def set_rate(self, key_id: str, rate_per_minute: int | None) -> ApiKey:
        """Set a key's requests a minute (None: the server's default; 0: no limit)."""
        if rate_per_minute is not None and rate_per_minute < 0:
            raise ApiKeyError("a key's rate limit is a number of requests a minute, 0 or more")
        keys = dict(self._load())
        if key_id not in keys:
            raise ApiKeyError(f"no API key with id {key_id!r}")
        keys[key_id] = replace(keys[key_id], rate_per_minute=rate_per_minute)
        self._save(keys)
        return keys[key_id]

    def list(self) -> list[ApiKey]:
        return sorted(self._load().values(), key=lambda k: k.created_at)

    def authenticate(self, presented: str) -> ApiKey | None:
        """The live key matching ``presented``, or None (unknown, malformed or revoked)."""
        parsed = parse_key(PREFIX, presented)
        if parsed is None:
            return None
        rec = self._load().get(parsed[0])
        if rec is None or rec.revoked:
            return None
        return rec if secret_matches(rec.secret_sha256, parsed[1]) else None
