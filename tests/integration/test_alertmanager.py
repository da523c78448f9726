"""Where alerts go, under Debian's Alertmanager: deploy/alertmanager/alertmanager.yml is valid, routes each
severity to its receiver, and a real Alertmanager delivers the rules' alerts to a real SMTP server and webhook
(only the addresses and the group wait are changed for the test), holding back what a process down explains."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiosmtpd.controller import Controller

from tests.support.inbox import Inbox
from tests.support.prometheus import ALERTMANAGER, ALERTMANAGER_CONFIG, AMTOOL, alert_rules

pytestmark = pytest.mark.integration


def _tool(path: Path) -> str:
    if not path.exists():
        pytest.fail(f"{path} is missing: `make prometheus-deps` installs Debian's prometheus-alertmanager")
    return str(path)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_configuration_is_valid() -> None:
    done = subprocess.run(
        [_tool(AMTOOL), "check-config", str(ALERTMANAGER_CONFIG)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(("severity", "receiver"), [("critical", "on-call"), ("warning", "operators")])
def test_each_severity_of_the_rules_has_its_receiver(severity: str, receiver: str) -> None:
    severities = {rule["labels"]["severity"] for rule in alert_rules()}
    assert severities == {"critical", "warning"}  # a new severity needs a route (and this test a case)
    done = subprocess.run(
        [
            _tool(AMTOOL),
            "config",
            "routes",
            "test",
            f"--config.file={ALERTMANAGER_CONFIG}",
            f"severity={severity}",
            "alertname=MeterlineAnything",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == receiver


class _Pager:
    """A webhook receiver on loopback: keeps each JSON body Alertmanager posts."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/meterline"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def delivered(tmp_path: Path) -> Iterator[tuple[str, Inbox, _Pager]]:
    """A real Alertmanager on the shipped configuration, its SMTP relay and pager URL pointed at the test's."""
    inbox, pager = Inbox(), _Pager()
    smtp_port, web_port = _free_port(), _free_port()
    mail = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    mail.start()
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    config["global"]["smtp_smarthost"] = f"127.0.0.1:{smtp_port}"
    config["route"]["group_wait"] = "1s"
    for receiver in config["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            hook["url"] = pager.url
    (tmp_path / "alertmanager.yml").write_text(yaml.safe_dump(config))
    log = open(tmp_path / "alertmanager.log", "wb")  # noqa: SIM115 - closed below, after the process
    proc = subprocess.Popen(
        [
            _tool(ALERTMANAGER),
            f"--config.file={tmp_path / 'alertmanager.yml'}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{web_port}",
            "--cluster.listen-address=",  # one instance: no gossip port
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{web_port}"
    try:
        _until(lambda: _answers(f"{base}/-/ready"), 30, f"Alertmanager to start ({tmp_path / 'alertmanager.log'})")
        yield base, inbox, pager
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
        mail.stop()
        pager.server.shutdown()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


def _until(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _alert(name: str, **labels: str) -> dict[str, Any]:
    """The alert as Prometheus sends it for the rule ``name`` of alerts.yml (its labels and fixed annotations)."""
    [rule] = [r for r in alert_rules() if r["alert"] == name]
    return {
        "labels": {"alertname": name, **rule["labels"], **labels},
        "annotations": {"summary": f"{name} (test)", "description": "test", "runbook": rule["annotations"]["runbook"]},
    }


def test_alerts_reach_the_on_call_and_the_operators(delivered: tuple[str, Inbox, _Pager]) -> None:
    base, inbox, pager = delivered
    worker = {"job": "meterline-worker", "instance": "worker-1:9464"}
    alerts = [
        _alert("MeterlineWorkerDown", **worker),
        _alert("MeterlineConsumerLagGrowing", **worker, topic="usage.events"),  # explained by the worker down
        _alert("MeterlineStripeReportsRetrying"),  # an aggregate warning: no instance
    ]
    req = urllib.request.Request(
        f"{base}/api/v2/alerts", json.dumps(alerts).encode(), {"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200

    _until(lambda: len(inbox.messages) >= 2 and bool(pager.bodies), 60, "the on-call's and the operators' emails")
    time.sleep(3)  # what would still come (the held-back warning) comes within the group wait
    [page] = pager.bodies
    assert page["receiver"] == "on-call" and page["status"] == "firing"
    assert [a["labels"]["alertname"] for a in page["alerts"]] == ["MeterlineWorkerDown"]

    by_to = {m["To"]: m for m in inbox.messages}
    assert sorted(by_to) == ["meterline-oncall@example.com", "meterline-operators@example.com"]
    oncall = by_to["meterline-oncall@example.com"]
    assert oncall["Subject"] == "[FIRING] critical: MeterlineWorkerDown"
    text = oncall.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Runbook: docs/operations.md#meterlineworkerdown" in text
    assert "instance=worker-1:9464" in text
    ops = by_to["meterline-operators@example.com"]
    assert ops["Subject"] == "[FIRING] warning: MeterlineStripeReportsRetrying"
    # the lag warning of the worker that is down was held back (inhibited), not mailed
    assert not any("MeterlineConsumerLagGrowing" in m["Subject"] for m in inbox.messages)
