from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from streams.ingest.keys import ApiKeyError, ApiKeyStore

NOW = datetime(2026, 11, 24, tzinfo=UTC)


def test_key_is_stored_hashed_and_authenticates(tmp_path: Path) -> None:
    store = ApiKeyStore(tmp_path / "keys.json")
    rec, plain = store.create("chat", NOW)
    assert plain.startswith(f"mlk_{rec.key_id}_")
    assert plain.split("_", 2)[2] not in (tmp_path / "keys.json").read_text()
    assert store.authenticate(plain) == rec
    # A second store instance (another process) sees the same key.
    assert ApiKeyStore(tmp_path / "keys.json").authenticate(plain) == rec


@pytest.mark.parametrize("presented", ["", "mlk_", "mlk_nokey_secret", "Bearer x", "abc_def_ghi"])
def test_malformed_or_unknown_keys_are_refused(tmp_path: Path, presented: str) -> None:
    store = ApiKeyStore(tmp_path / "keys.json")
    store.create("chat", NOW)
    assert store.authenticate(presented) is None


def test_wrong_secret_and_revoked_key_are_refused(tmp_path: Path) -> None:
    store = ApiKeyStore(tmp_path / "keys.json")
    rec, plain = store.create("drive", NOW)
    assert store.authenticate(plain[:-1] + ("A" if plain[-1] != "A" else "B")) is None
    store.revoke(rec.key_id)
    assert store.authenticate(plain) is None
    with pytest.raises(ApiKeyError):
        store.revoke("nope")
