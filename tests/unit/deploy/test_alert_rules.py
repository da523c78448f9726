"""The alerting rules are complete for an operator: each has a severity, a summary, a description and a runbook
section that exists, each is proven by alerts.test.yml to fire and not to fire, and Prometheus loads them."""

from __future__ import annotations

import re
from collections import defaultdict

from tests.support.prometheus import ALERTS_TEST, CONFIG, ROOT, RUNBOOK, alert_rules, load


def test_every_alert_says_how_bad_what_it_means_and_where_its_runbook_is() -> None:
    rules = alert_rules()
    assert len(rules) >= 12
    headings = set(re.findall(r"^### (Meterline\w+)$", RUNBOOK.read_text(), flags=re.M))
    for rule in rules:
        name = rule["alert"]
        assert rule["labels"]["severity"] in {"warning", "critical"}, name
        notes = rule["annotations"]
        assert notes["summary"] and len(notes["description"]) > 80, name
        # GitHub's anchor of the heading "### MeterlineWorkerDown" is its lowercase name.
        assert notes["runbook"] == f"docs/operations.md#{name.lower()}", name
        assert name in headings, f"docs/operations.md has no '### {name}' section"
    assert headings == {r["alert"] for r in rules}, "runbook sections without an alert"


def test_every_alert_is_tested_firing_and_quiet() -> None:
    seen: dict[str, set[bool]] = defaultdict(set)
    for test in load(ALERTS_TEST)["tests"]:
        for case in test["alert_rule_test"]:
            seen[case["alertname"]].add(bool(case["exp_alerts"]))
    for rule in alert_rules():
        assert seen[rule["alert"]] == {True, False}, f"{rule['alert']}: needs a case that fires and one that does not"
    assert set(seen) == {r["alert"] for r in alert_rules()}, "tests of alerts that do not exist"


def test_prometheus_loads_the_rules_and_scrapes_every_job_they_watch() -> None:
    config = load(CONFIG)
    assert config["rule_files"] == ["alerts.yml"]
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    watched = {m for rule in alert_rules() for m in re.findall(r'up\{job="([^"]+)"\}', rule["expr"])}
    assert watched == jobs == {"meterline-worker", "meterline-ingest", "meterline-api"}
    # compose mounts the rules next to the configuration, where its relative rule_files finds them
    volumes = load(ROOT / "deploy" / "compose.yaml")["services"]["prometheus"]["volumes"]
    assert "./prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro" in volumes
