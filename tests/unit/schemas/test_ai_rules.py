"""The AI controls rule shared by the API and the SDK, and the SDK's local check of its quota-state records."""

from __future__ import annotations

import orjson

from schemas import ai_rules
from schemas.ai_rules import Controls, refusal
from schemas.entitlements import EntitlementCache, parse_quota_key

ORG, MEMBER = (
    Controls(frozenset({"voice"}), frozenset({"openai", "anthropic"}), None),
    Controls(frozenset(), frozenset({"anthropic"}), frozenset({"claude-3"})),
)


def never() -> bool:
    raise AssertionError("the cap is asked only about AI use that the controls allow")


def test_controls_refuse_before_the_cap() -> None:
    assert refusal((ORG,), "voice", None, None, premium=False, cap_reached=never) == "disabled_by_admin"
    assert refusal((ORG, MEMBER), "ai_requests", "openai", None, premium=False, cap_reached=never) == (
        "provider_not_allowed"
    )
    assert refusal((ORG, MEMBER), "ai_requests", "anthropic", "gpt-4", premium=False, cap_reached=never) == (
        "model_not_allowed"
    )
    assert refusal((ORG,), "ai_requests", "openai", "gpt-4", premium=False, cap_reached=lambda: False) is None


def test_a_reached_cap_refuses_only_ai_use() -> None:
    def yes() -> bool:
        return True

    assert refusal((), "ai_requests", None, None, premium=False, cap_reached=yes) == "ai_cap_reached"
    assert refusal((), "deep_research", None, None, premium=True, cap_reached=yes) == "ai_cap_reached"
    assert refusal((), "api_calls", "openai", None, premium=False, cap_reached=yes) == "ai_cap_reached"
    assert refusal((), "api_calls", None, None, premium=False, cap_reached=never) is None


def _metric(account: str, metric: str) -> tuple[bytes, bytes]:
    record = {"account_id": account, "metric": metric, "period": "2026-12", "used": "1", "as_of": "x"}
    return f"{account}:{metric}".encode(), orjson.dumps(record)


def _controls(account: str, user: str, c: Controls, v: int = ai_rules.RECORD_VERSION) -> tuple[bytes, bytes]:
    record = {**ai_rules.controls_record(account, user, c, "x"), "v": v}
    return ai_rules.controls_key(account, user), orjson.dumps(record)


def _cap(account: str, user: str, reached: bool) -> tuple[bytes, bytes]:
    return ai_rules.cap_key(account, user), orjson.dumps(ai_rules.cap_record(account, user, reached, "p", "x"))


def test_the_sdk_cache_applies_controls_and_caps_of_the_organization_and_the_member() -> None:
    cache = EntitlementCache(clock=lambda: 0.0)
    for key, value in (_metric("org", "ai_requests"), _metric("org", "api_calls")):
        cache.apply(key, value)
    cache.apply(*_controls("org", "*", ORG))
    cache.apply(*_controls("org", "u1", MEMBER))
    ok = cache.check("org", "ai_requests", provider="openai")
    assert ok is not None and ok.allowed
    refused = cache.check("org", "ai_requests", user_id="u1", provider="openai")
    assert refused is not None and (refused.allowed, refused.reason) == (False, "provider_not_allowed")
    assert cache.get("org", "ai_requests") == ok  # ``get`` stays the metric's answer alone

    cache.apply(*_cap("org", "u1", True))
    capped = cache.check("org", "ai_requests", user_id="u1", provider="anthropic")
    assert capped is not None and capped.reason == "ai_cap_reached"
    other = cache.check("org", "ai_requests", user_id="u2")
    api = cache.check("org", "api_calls", user_id="u1")
    assert other is not None and other.allowed and api is not None and api.allowed
    cache.apply(*_cap("org", "u1", False))
    again = cache.check("org", "ai_requests", user_id="u1", provider="anthropic", model="claude-3")
    assert again is not None and again.allowed

    cache.apply(ai_rules.controls_key("org", "u1"), None)  # a tombstone lifts the member's own
    lifted = cache.check("org", "ai_requests", user_id="u1", provider="openai")
    assert lifted is not None and lifted.allowed


def test_unknown_versions_and_kinds_are_ignored_and_ai_records_are_no_metrics() -> None:
    cache = EntitlementCache(clock=lambda: 0.0)
    cache.apply(*_metric("org", "ai_requests"))
    cache.apply(*_controls("org", "*", ORG, v=2))
    cache.apply(b"@ai_future:org:*", b'{"kind": "ai_future", "v": 1}')
    answer = cache.check("org", "ai_requests", provider="mistral")
    assert answer is not None and answer.allowed
    assert len(cache) == 1 and parse_quota_key(ai_rules.controls_key("org", "*")) is None


def test_an_older_reader_ignores_the_new_records() -> None:
    """What an SDK before these records does with them: its parse of the record fails, the record is skipped."""
    from schemas.entitlements import _answer

    for key, value in (_controls("org", "*", ORG), _cap("org", "*", True)):
        account, _, _ = key.decode().rpartition(":")  # the older key parse: no real account is hit
        assert account.startswith("@") and _answer(orjson.loads(value)) is None


def test_approval_names_what_is_missing() -> None:
    from schemas.ai_rules import missing_approval

    gpt = ("model", "openai", "gpt-4o")
    assert missing_approval(frozenset(), "deep_research", None, None) == ("feature", "deep_research")
    assert missing_approval(frozenset({("feature", "deep_research")}), "deep_research", None, None) is None
    # A feature with a model names both.
    assert missing_approval(frozenset({("feature", "deep_research")}), "deep_research", "openai", "gpt-4o") == gpt
    assert missing_approval(frozenset({gpt}), "ai_requests", "openai", "gpt-4o") is None
    assert missing_approval(frozenset({gpt}), "ai_requests", "openai", "o3") == ("model", "openai", "o3")
    assert missing_approval(frozenset({gpt}), "ai_requests", "openai", None) == ("model", "openai", "*")
    assert missing_approval(frozenset({gpt}), "ai_requests", None, "gpt-4o") is None
    assert missing_approval(frozenset({gpt}), "ai_requests", None, None) == ("feature", "ai_requests")
    anyone = frozenset({("model", "openai", "*")})
    assert missing_approval(anyone, "ai_requests", "openai", "o3") is None
    assert missing_approval(anyone, "ai_requests", "anthropic", "claude") == ("model", "anthropic", "claude")
    general = frozenset({("feature", "ai_requests")})
    assert missing_approval(general, "ai_requests", "anthropic", "claude") is None
    assert missing_approval(general, "deep_research", None, None) == ("feature", "deep_research")


def test_approval_is_asked_after_the_controls_and_before_the_cap() -> None:
    required = Controls(frozenset({"voice"}), None, None, approval_required=True)
    mine = Controls(frozenset(), None, None, approved=frozenset({("feature", "ai_requests")}))
    assert refusal((required,), "voice", None, None, premium=False, cap_reached=never) == "disabled_by_admin"
    assert refusal((required,), "ai_requests", None, None, premium=False, cap_reached=never) == "approval_required"
    assert refusal((required,), "api_calls", None, None, premium=False, cap_reached=never) is None  # not AI use
    assert refusal((required, mine), "ai_requests", "x", None, premium=False, cap_reached=lambda: True) == (
        "ai_cap_reached"
    )
    assert refusal((mine,), "ai_requests", None, None, premium=False, cap_reached=lambda: False) is None


def test_the_controls_record_carries_the_approvals() -> None:
    controls = Controls(frozenset(), None, None, True, frozenset({("model", "openai", "*"), ("feature", "x")}))
    record = ai_rules.controls_record("org_a", "mel", controls, "2026-12-04T00:00:00+00:00")
    assert record["approved"] == [["feature", "x"], ["model", "openai", "*"]]
    assert ai_rules.parse_controls(orjson.loads(orjson.dumps(record))) == controls
    older = {k: v for k, v in record.items() if k not in ("approval_required", "approved")}
    assert ai_rules.parse_controls(older) == Controls(frozenset(), None, None)  # written before approvals
    assert ai_rules.parse_controls({**record, "approved": [["feature"]]}) is None
