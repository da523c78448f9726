"""One format and check for the ingest and the billing API keys."""

from __future__ import annotations

from streams.key_format import new_key, parse_key, secret_matches


def test_a_new_key_parses_back_and_its_secret_matches() -> None:
    k = new_key("mlk", 6)
    assert len(k.key_id) == 12 and k.plain.startswith(f"mlk_{k.key_id}_")
    parsed = parse_key("mlk", k.plain)
    assert parsed is not None and parsed[0] == k.key_id
    assert secret_matches(k.secret_sha256, parsed[1])
    assert not secret_matches(k.secret_sha256, parsed[1] + "x")


def test_malformed_keys_are_never_looked_up() -> None:
    assert parse_key("mlb", "mlk_abc_secret") is None  # the other kind of key
    assert parse_key("mlb", "mlb_abc") is None
    assert parse_key("mlb", "mlb__secret") is None
    assert parse_key("mlb", "mlb_a\x00b_secret") is None  # a NUL breaks PostgreSQL
    assert parse_key("mlb", "mlb_é_secret") is None
    assert parse_key("mlb", "mlb_" + "a" * 33 + "_secret") is None
    assert parse_key("mlb", "mlb_" + "a" * 32 + "_sec_ret") == ("a" * 32, "sec_ret")
