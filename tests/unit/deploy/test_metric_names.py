"""Every metric name deploy/ reads — the alerting rules, their promtool tests' input series, the Grafana
dashboards — is a series the code exports: a renamed metric would otherwise leave an alert that can never fire
(PromQL finds no series, silently) and an empty panel."""

from __future__ import annotations

import json
import re

from tests.support.prometheus import ALERTS_TEST, DASHBOARDS, alert_rules, exported_series, load

NAME = re.compile(r"\bmeterline_[a-z0-9_]+\b")


def test_exported_series_names_follow_the_exposition() -> None:
    exported = exported_series()
    # A counter is scraped as NAME_total: an alert on the bare name would never match anything.
    assert "meterline_settlement_runs_total" in exported
    assert "meterline_settlement_runs" not in exported
    assert {"meterline_event_to_quota_seconds_bucket", "meterline_settlement_leader"} <= exported
    assert {"meterline_http_events_rejected_total", "meterline_api_webhook_account_mismatch_total"} <= exported
    assert {"meterline_api_responses_total", "meterline_api_outbox_oldest_pending_seconds"} <= exported


def test_alert_rules_use_only_exported_metrics() -> None:
    used = {name for rule in alert_rules() for name in NAME.findall(rule["expr"])}
    assert len(used) >= 10
    assert used <= exported_series(), sorted(used - exported_series())


def test_alert_rule_tests_feed_only_exported_metrics() -> None:
    tests = load(ALERTS_TEST)["tests"]
    used = {name for t in tests for s in t["input_series"] for name in NAME.findall(s["series"])}
    assert used <= exported_series(), sorted(used - exported_series())


def test_dashboards_query_only_exported_metrics() -> None:
    dashboards = sorted(DASHBOARDS.glob("*.json"))
    assert len(dashboards) >= 3  # ingest; rating, settlement and Stripe; the billing API
    exported = exported_series()
    for path in dashboards:
        dash = json.loads(path.read_text())
        exprs = " ".join(t["expr"] for p in dash["panels"] for t in p.get("targets", []))
        used = set(NAME.findall(exprs))
        assert used, path.name
        assert used <= exported, f"{path.name} queries {sorted(used - exported)}, exported by no Meterline process"
