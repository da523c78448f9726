"""The quota view's change counters, the live streams' cues: an organization's metric records count for its
account; its AI controls and cap records (``@ai_controls:``, ``@ai_cap:``) count apart, and are not metrics."""

from __future__ import annotations

from schemas import ai_rules
from streams.api.quota_view import QuotaView


def test_metric_and_ai_records_are_counted_apart() -> None:
    view = QuotaView()
    view.apply(b"org_a:api_calls", b'{"used": "3"}')
    view.apply(ai_rules.controls_key("org_a", "mel"), b'{"kind": "ai_controls"}')
    view.apply(ai_rules.cap_key("org_a", "*"), None)  # a tombstone is a change too
    view.apply(ai_rules.cap_key("org_b", "sam"), b"{}")
    view.apply(b"@something_else:org_a:x", b"{}")  # not a kind this API knows
    assert (view.changes("org_a"), view.ai_changes("org_a"), view.ai_changes("org_b")) == (1, 2, 1)
    assert view.for_account("org_a") == {"api_calls": {"used": "3"}}
    assert view.changes("@ai_controls") == 0 and view.ai_changes("org_c") == 0


def test_record_account() -> None:
    assert ai_rules.record_account(ai_rules.cap_key("org_a", "*")) == "org_a"
    assert ai_rules.record_account(b"org_a:api_calls") is None
    assert ai_rules.record_account(b"@ai_cap:org_a") is None  # no row
    assert ai_rules.record_account(None) is None
