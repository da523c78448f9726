"""Notifications end to end on real parts: the billing store (SQLite), an SMTP server (aiosmtpd) and an
HTTP receiver on 127.0.0.1 that verifies deliveries with the published ``standardwebhooks`` library."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks.webhooks import Webhook

from streams.notify import signing
from streams.notify.email import Attachment, SmtpSettings
from streams.notify.outbox import enqueue_event, enqueue_notice
from streams.notify.relays import EmailRelay, WebhookRelay
from streams.settings import Settings
from streams.store.db import make_engine, migrate, sessions
from streams.store.models import NoticeRow, Organization, WebhookDeliveryRow, WebhookEndpointRow
from tests.support.inbox import Inbox

T0 = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> tuple[str, sessionmaker[Session]]:
    url = f"sqlite:///{tmp_path / 'billing.db'}"
    engine = make_engine(url)
    migrate(engine)
    maker = sessions(engine)
    with maker.begin() as s:
        s.add(Organization(id="acme", name="Acme", billing_email="ap@acme.test", created_at=T0, updated_at=T0))
    return url, maker


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpSettings, Inbox]]:
    inbox = Inbox()
    with socket.socket() as probe:  # aiosmtpd's controller needs a known port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        yield SmtpSettings(host="127.0.0.1", port=port), inbox
    finally:
        ctl.stop()


def test_emails_arrive_once_with_content_and_pdf(db: tuple[str, sessionmaker[Session]], smtp: Any) -> None:
    _, maker = db
    settings, inbox = smtp
    pdf = b"%PDF-1.7 test invoice"
    with maker.begin() as s:
        ctx = {"invoice_id": "inv_1", "period": "2026-03", "amount_due": "120.50", "currency": "EUR"}
        assert enqueue_notice(s, "invoice_finalized", "acme", "invoice_finalized:inv_1", ctx, T0)
        assert not enqueue_notice(s, "invoice_finalized", "acme", "invoice_finalized:inv_1", ctx, T0)
    with maker.begin() as s:  # the same event again, later (a redelivered webhook): still one notice
        assert not enqueue_notice(s, "invoice_finalized", "acme", "invoice_finalized:inv_1", ctx, T0)
        failed = {"invoice_id": "inv_1", "amount": "120.50", "currency": "EUR", "next_retry": "2026-04-03"}
        assert enqueue_notice(s, "payment_failed", "acme", "payment_failed:evt_9", failed, T0)

    def attach(s: Session, row: NoticeRow) -> list[Attachment]:
        return [Attachment(f"{row.context['invoice_id']}.pdf", pdf)] if row.kind == "invoice_finalized" else []

    relay = EmailRelay(maker, settings, attachments=attach, clock=lambda: T0)
    assert asyncio.run(relay.drain()) == 2
    assert asyncio.run(relay.drain()) == 0  # sent rows are never sent again
    assert len(inbox.messages) == 2
    invoice, failure = inbox.messages
    assert invoice["To"] == "ap@acme.test"
    assert invoice["Subject"] == "Invoice inv_1 for 2026-03"
    assert invoice["Message-ID"] == "<invoice_finalized_inv_1@meterline.local>"
    text = invoice.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Amount due: 120.50 EUR" in text
    assert "<b>120.50 EUR</b>" in invoice.get_body(("html",)).get_content()  # type: ignore[union-attr]
    [pdf_part] = list(invoice.iter_attachments())
    assert pdf_part.get_filename() == "inv_1.pdf"
    assert pdf_part.get_content() == pdf
    assert "We will try again on 2026-04-03." in failure.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_email_refused_is_retried_after_backoff(db: tuple[str, sessionmaker[Session]], smtp: Any) -> None:
    _, maker = db
    settings, inbox = smtp
    with maker.begin() as s:
        enqueue_notice(s, "payment_succeeded", "acme", "paid:evt_1", {"invoice_id": "inv_2"}, T0)
    now = [T0]
    down = EmailRelay(maker, SmtpSettings(host="127.0.0.1", port=1, timeout=2), clock=lambda: now[0])
    assert asyncio.run(down.run_once()) == 0
    with maker() as s:
        row = s.scalars(select(NoticeRow)).one()
        assert (row.attempts, row.sent_at, row.next_attempt_at) == (1, None, T0 + timedelta(seconds=30))
    up = EmailRelay(maker, settings, clock=lambda: now[0])
    assert asyncio.run(up.run_once()) == 0  # not due yet
    now[0] = T0 + timedelta(seconds=30)
    assert asyncio.run(up.run_once()) == 1
    assert [m["Subject"] for m in inbox.messages] == ["Payment received for invoice inv_2"]


class _Receiver:
    """Verifies each delivery with ``standardwebhooks``; answers ``script`` statuses in turn, then 204."""

    def __init__(self, secret: str, script: list[int], hold: threading.Event | None = None) -> None:
        self.secret, self.script, self.hold = secret, script, hold
        self.received: Counter[str] = Counter()
        self.processed: dict[str, Any] = {}
        self.hosts: list[str] = []  # each delivery's Host header
        self.arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                payload = Webhook(receiver.secret).verify(body, headers)  # raises on a bad signature
                msg_id = headers["webhook-id"]
                receiver.received[msg_id] += 1
                receiver.hosts.append(headers["host"])
                receiver.arrived.set()
                if receiver.hold is not None:
                    receiver.hold.wait(30)  # the sender is killed while it waits for this answer
                    return
                status = receiver.script.pop(0) if receiver.script else 204
                if status < 300:
                    receiver.processed.setdefault(msg_id, payload)  # deduplicated by webhook-id
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _endpoint(maker: sessionmaker[Session], url: str, types: list[str]) -> str:
    secret = signing.new_secret()
    with maker.begin() as s:
        s.add(
            WebhookEndpointRow(
                id="we_1", organization_id="acme", url=url, event_types=types, secret=secret, created_at=T0
            )
        )
    return secret


def test_signature_matches_standardwebhooks_library() -> None:
    secret = signing.new_secret()
    body = b'{"type":"invoice.paid"}'
    header = signing.sign(secret, "msg_1", 1_774_958_400, body)
    assert header == Webhook(secret).sign("msg_1", datetime.fromtimestamp(1_774_958_400, UTC), body.decode())
    assert header.startswith("v1,")


def test_webhook_retried_after_refusal_then_acknowledged(db: tuple[str, sessionmaker[Session]]) -> None:
    _, maker = db
    receiver = _Receiver("", [500])
    try:
        receiver.secret = _endpoint(maker, receiver.url, ["invoice.paid"])
        with maker.begin() as s:
            assert enqueue_event(s, "acme", "invoice.paid", "evt_paid_1", {"invoice_id": "inv_1"}, T0) == 1
            assert enqueue_event(s, "acme", "invoice.payment_failed", "evt_f", {"invoice_id": "inv_1"}, T0) == 0
        with maker.begin() as s:
            assert enqueue_event(s, "acme", "invoice.paid", "evt_paid_1", {"invoice_id": "inv_1"}, T0) == 0
        now = [T0]
        relay = WebhookRelay(maker, clock=lambda: now[0], allow_private=True)
        assert asyncio.run(relay.drain()) == 0  # refused with 500: retried later
        with maker() as s:
            row = s.scalars(select(WebhookDeliveryRow)).one()
            assert (row.attempts, row.last_status, row.next_attempt_at) == (1, 500, T0 + timedelta(seconds=30))
        now[0] = T0 + timedelta(seconds=30)
        assert asyncio.run(relay.drain()) == 1
        assert asyncio.run(relay.drain()) == 0
        assert receiver.received == Counter({"evt_paid_1": 2})
        assert receiver.processed["evt_paid_1"]["data"] == {"invoice_id": "inv_1"}
        with maker() as s:
            row = s.scalars(select(WebhookDeliveryRow)).one()
            assert (row.outcome, row.attempts) == ("delivered", 2)
    finally:
        receiver.close()


def test_webhook_to_a_private_address_is_not_sent(db: tuple[str, sessionmaker[Session]]) -> None:
    """An endpoint on a loopback address (registered before the rule, or while it was lifted) gets nothing from
    the production relay: the attempt is kept with its reason, the receiver never called (docs/security.md)."""
    _, maker = db
    receiver = _Receiver("", [])
    try:
        receiver.secret = _endpoint(maker, receiver.url, ["invoice.paid"])
        with maker.begin() as s:
            enqueue_event(s, "acme", "invoice.paid", "evt_paid_ssrf", {"invoice_id": "inv_1"}, T0)
        relay = WebhookRelay(maker, clock=lambda: T0)
        assert asyncio.run(relay.drain()) == 0
        assert receiver.received == Counter()
        with maker() as s:
            row = s.scalars(select(WebhookDeliveryRow)).one()
        assert (row.attempts, row.last_status, row.done_at) == (1, None, None)
        assert row.last_error is not None and "127.0.0.1 is not a public address" in row.last_error
    finally:
        receiver.close()


def test_webhook_given_up_after_a_day(db: tuple[str, sessionmaker[Session]]) -> None:
    _, maker = db
    receiver = _Receiver("", [500] * 100)
    try:
        receiver.secret = _endpoint(maker, receiver.url, ["usage.alert"])
        with maker.begin() as s:
            enqueue_event(s, "acme", "usage.alert", "alert:acme:api_calls:80", {"level": 80}, T0)
        now = [T0]
        relay = WebhookRelay(maker, clock=lambda: now[0], allow_private=True)
        attempts = 0
        while True:
            asyncio.run(relay.drain())
            attempts += 1
            with maker() as s:
                row = s.scalars(select(WebhookDeliveryRow)).one()
            if row.done_at is not None:
                break
            assert row.next_attempt_at is not None
            now[0] = row.next_attempt_at
        # waits of 30 s, 1, 2, 4 ... 64 min (attempt 9 at 127.5 min), then 2 h each: attempt 19 at
        # 127.5 + 10 x 120 = 1327.5 min is the last, its retry (1447.5 min) would pass 24 h (1440 min)
        assert row.outcome == "failed"
        assert now[0] - T0 == timedelta(minutes=1327.5)
        assert attempts == sum(receiver.received.values()) == 19
    finally:
        receiver.close()


class _Dns:
    """Failure injection of the resolver: ``name`` answers ``answers`` in turn (the last one from then on), as a
    name whose owner changes its DNS answer would; other names get the real resolver's answer."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, name: str, answers: list[str]) -> None:
        real = socket.getaddrinfo
        self.asked = 0

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            if host != name:
                return real(host, port, *args, **kwargs)
            answer = answers[min(self.asked, len(answers) - 1)]
            self.asked += 1
            return real(answer, port, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


class _Connections:
    """Every TCP connection the process opens, by the address asked for; one to ``refused`` fails as a public host
    that is down would (injected: nothing leaves the machine)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, refused: str | None = None) -> None:
        real = socket.create_connection
        self.to: list[tuple[str, int]] = []

        def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
            self.to.append((address[0], address[1]))
            if address[0] == refused:
                raise ConnectionRefusedError(f"{address[0]} refused the connection")
            return real(address, *args, **kwargs)

        monkeypatch.setattr(socket, "create_connection", create_connection)


def _by_name(maker: sessionmaker[Session], receiver: _Receiver, url: str, event_id: str) -> int:
    """An endpoint at ``url`` (``{port}``: the receiver's) with one event to deliver; the receiver's port."""
    port: int = receiver.server.server_address[1]
    receiver.secret = _endpoint(maker, url.format(port=port), ["invoice.paid"])
    with maker.begin() as s:
        enqueue_event(s, "acme", "invoice.paid", event_id, {"invoice_id": "inv_1"}, T0)
    return port


def test_a_name_that_rebinds_to_a_private_address_is_never_connected_to(
    db: tuple[str, sessionmaker[Session]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the endpoint's name answers a public address to the delivery's check, then 127.0.0.1 —
    where a real receiver listens, standing for the platform's own services — to any later look-up. The
    delivery connects to the checked address only, so the receiver gets nothing (docs/security.md)."""
    _, maker = db
    receiver = _Receiver("", [])
    try:
        port = _by_name(maker, receiver, "http://hooks.rebind.test:{port}/hooks", "evt_rebind")
        dns = _Dns(monkeypatch, "hooks.rebind.test", ["93.184.216.34", "127.0.0.1"])
        connections = _Connections(monkeypatch, refused="93.184.216.34")
        relay = WebhookRelay(maker, clock=lambda: T0)
        assert asyncio.run(relay.drain()) == 0
        assert receiver.received == Counter()
        assert connections.to == [("93.184.216.34", port)]
        assert dns.asked == 1
        with maker() as s:
            row = s.scalars(select(WebhookDeliveryRow)).one()
        assert (row.attempts, row.last_status, row.done_at) == (1, None, None)
        assert row.last_error is not None and "refused" in row.last_error
    finally:
        receiver.close()


def test_a_delivery_by_name_keeps_the_urls_host(
    db: tuple[str, sessionmaker[Session]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Connected to the address it checked, a delivery still names the URL's host: the receiver sees it in
    ``Host`` (private addresses allowed here: the receiver is on 127.0.0.1)."""
    _, maker = db
    receiver = _Receiver("", [])
    try:
        port = _by_name(maker, receiver, "http://hooks.tenant.test:{port}/hooks", "evt_named")
        dns = _Dns(monkeypatch, "hooks.tenant.test", ["127.0.0.1"])
        connections = _Connections(monkeypatch)
        assert asyncio.run(WebhookRelay(maker, clock=lambda: T0, allow_private=True).drain()) == 1
        assert (receiver.received, receiver.hosts) == (Counter({"evt_named": 1}), [f"hooks.tenant.test:{port}"])
        assert (connections.to, dns.asked) == ([("127.0.0.1", port)], 1)
    finally:
        receiver.close()


def test_an_answers_body_is_not_read(db: tuple[str, sessionmaker[Session]]) -> None:
    """The status acknowledges a delivery; the body after it is not read: a receiver answering 200 with a
    gigabyte announced and then nothing neither holds the relay until its timeout nor fills its memory."""
    _, maker = db
    stop = threading.Event()

    class Endless(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            self.send_response(200)
            self.send_header("content-length", str(10**9))
            self.end_headers()
            self.wfile.write(b"x" * 1024)
            self.wfile.flush()
            stop.wait(30)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Endless)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        _endpoint(maker, f"http://127.0.0.1:{server.server_address[1]}/hooks", ["invoice.paid"])
        with maker.begin() as s:
            enqueue_event(s, "acme", "invoice.paid", "evt_endless", {"invoice_id": "inv_1"}, T0)
        relay = WebhookRelay(maker, clock=lambda: T0, allow_private=True, timeout=3.0)
        assert asyncio.run(relay.drain()) == 1
        with maker() as s:
            row = s.scalars(select(WebhookDeliveryRow)).one()
        assert (row.outcome, row.last_status, row.last_error) == ("delivered", 200, None)
    finally:
        stop.set()
        server.shutdown()
        server.server_close()


def test_an_https_delivery_verifies_the_urls_name_over_the_checked_address(
    db: tuple[str, sessionmaker[Session]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Over TLS, the connection to the checked address still sends the URL's name as SNI and verifies the
    certificate against it: a certificate for that name only (trusted through SSL_CERT_FILE) is accepted,
    and one for another name is refused."""
    _, maker = db
    names: list[str | None] = []
    certs = {}
    for name in ("hooks.tenant.test", "other.tenant.test"):
        key, cert = tmp_path / f"{name}.key", tmp_path / f"{name}.pem"
        request = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={name}"]
        request += ["-addext", f"subjectAltName=DNS:{name}", "-keyout", str(key), "-out", str(cert)]
        subprocess.run(request, check=True, capture_output=True)
        certs[name] = (cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(certs["hooks.tenant.test"][0]))
    for served, delivered in (("hooks.tenant.test", 1), ("other.tenant.test", 0)):
        receiver = _Receiver("", [])
        try:
            server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            server_tls.load_cert_chain(*certs[served])
            server_tls.sni_callback = lambda sock, name, ctx: names.append(name)  # type: ignore[misc,assignment]
            receiver.server.socket = server_tls.wrap_socket(receiver.server.socket, server_side=True)
            with maker.begin() as s:
                s.execute(delete(WebhookDeliveryRow))
                s.execute(delete(WebhookEndpointRow))
            _by_name(maker, receiver, "https://hooks.tenant.test:{port}/hooks", f"evt_tls_{served}")
            _Dns(monkeypatch, "hooks.tenant.test", ["127.0.0.1"])
            assert asyncio.run(WebhookRelay(maker, clock=lambda: T0, allow_private=True).drain()) == delivered
            assert sum(receiver.received.values()) == delivered
            assert names[-1] == "hooks.tenant.test"
            if not delivered:
                with maker() as s:
                    error = s.scalars(select(WebhookDeliveryRow.last_error)).one()
                assert error is not None and "certificate" in error
        finally:
            receiver.close()


RELAY = """
import asyncio, sys
from streams.notify.relays import WebhookRelay
from streams.store.db import make_engine, sessions
asyncio.run(WebhookRelay(sessions(make_engine(sys.argv[1])), allow_private=True).drain())
"""


def test_webhook_not_duplicated_after_kill_9(db: tuple[str, sessionmaker[Session]]) -> None:
    url, maker = db
    hold = threading.Event()
    receiver = _Receiver("", [], hold=hold)
    try:
        receiver.secret = _endpoint(maker, receiver.url, ["invoice.finalized"])
        with maker.begin() as s:
            enqueue_event(s, "acme", "invoice.finalized", "evt_fin_1", {"invoice_id": "inv_1"}, T0)
            enqueue_event(s, "acme", "invoice.finalized", "evt_fin_2", {"invoice_id": "inv_2"}, T0)
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        proc = subprocess.Popen([sys.executable, "-c", RELAY, url], env=env)
        assert receiver.arrived.wait(60)  # the first delivery is in flight, unanswered
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        hold.set()
        receiver.hold = None
        with maker() as s:
            assert s.scalars(select(WebhookDeliveryRow.done_at)).all() == [None, None]
        subprocess.run([sys.executable, "-c", RELAY, url], env=env, check=True, timeout=120)
        subprocess.run([sys.executable, "-c", RELAY, url], env=env, check=True, timeout=120)
        # evt_fin_1 was sent again after the crash (same webhook-id: the receiver drops the repeat);
        # nothing acknowledged was sent again
        assert receiver.received == Counter({"evt_fin_1": 2, "evt_fin_2": 1})
        assert sorted(receiver.processed) == ["evt_fin_1", "evt_fin_2"]
    finally:
        hold.set()
        receiver.close()


def test_budget_alerts_are_sent_once_when_the_forecast_and_then_the_actual_pass(
    db: tuple[str, sessionmaker[Session]], smtp: Any
) -> None:
    """A $300 budget: a forecast of $549.99 sends one ``forecast`` alert (email and ``budget.alert``
    event), however often the forecast is refreshed; $320.00 actually used sends the ``actual`` one."""
    from decimal import Decimal

    from streams.notify.budgets import enqueue_budget_alerts

    _, maker = db
    settings, inbox = smtp
    _endpoint(maker, "http://127.0.0.1:9/unused", ["budget.alert"])
    forecast = {
        "currency": "usd",
        "total": {"to_date": "49.99", "expected": "549.99", "p10": "492.37", "p90": "607.61"},
    }
    with maker.begin() as s:
        assert enqueue_budget_alerts(s, "acme", "2026-03", Decimal(300), forecast, T0) == [
            "budget_alert:acme:2026-03:forecast"
        ]
        assert enqueue_budget_alerts(s, "acme", "2026-03", Decimal(600), forecast, T0) == []  # under that budget
    with maker.begin() as s:  # refreshed: nothing new
        assert enqueue_budget_alerts(s, "acme", "2026-03", Decimal(300), forecast, T0) == []
    later = {**forecast, "total": {**forecast["total"], "to_date": "320.00"}}
    with maker.begin() as s:
        assert enqueue_budget_alerts(s, "acme", "2026-03", Decimal(300), later, T0) == [
            "budget_alert:acme:2026-03:actual"
        ]
    with maker() as s:
        deliveries = s.scalars(select(WebhookDeliveryRow).order_by(WebhookDeliveryRow.id)).all()
    assert [(d.event_id, d.event_type, d.payload["data"]["amount"]) for d in deliveries] == [
        ("budget_alert:acme:2026-03:forecast", "budget.alert", "549.99"),
        ("budget_alert:acme:2026-03:actual", "budget.alert", "320.00"),
    ]
    assert asyncio.run(EmailRelay(maker, settings, clock=lambda: T0).drain()) == 2
    assert [m["Subject"] for m in inbox.messages] == [
        "Budget alert: 2026-03 is forecast to pass your budget",
        "Budget alert: 2026-03 has passed your budget",
    ]
    text = inbox.messages[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "your budget of 300.00 USD (549.99 USD)" in text


def test_usage_alerts_from_kafka_become_one_notice_and_event_each(db: tuple[str, sessionmaker[Session]]) -> None:
    """On the real Kafka: a redelivered alert (the same record twice) is one notice and one webhook event."""
    import uuid

    import orjson
    from aiokafka import AIOKafkaProducer

    from streams.notify.alerts import follow_alerts

    _, maker = db
    _endpoint(maker, "http://127.0.0.1:9/unused", ["usage.alert"])
    topic = f"t{uuid.uuid4().hex[:8]}.usage.alerts"
    alert = {"account_id": "acme", "metric": "api_calls", "period": "2026-03-01", "kind": "quota_80"}
    alert |= {"threshold": "8000", "used": "8012", "at": T0.isoformat()}
    cap = {**alert, "kind": "hard_cap", "threshold": "20000", "used": "20000"}

    async def run() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=os.environ.get("METERLINE_KAFKA_BOOTSTRAP", "127.0.0.1:9092"))
        await producer.start()
        try:
            for doc in (alert, alert, cap):
                await producer.send_and_wait(topic, orjson.dumps(doc), key=b"acme")
        finally:
            await producer.stop()
        stop = asyncio.Event()

        def written() -> None:
            with maker() as s:
                if len(s.scalars(select(NoticeRow)).all()) == 2:
                    stop.set()

        await asyncio.wait_for(
            follow_alerts("127.0.0.1:9092", topic, f"{topic}.notify", maker, lambda: T0, stop, written), 120
        )

    asyncio.run(run())
    with maker() as s:
        notices = s.scalars(select(NoticeRow).order_by(NoticeRow.id)).all()
        deliveries = s.scalars(select(WebhookDeliveryRow).order_by(WebhookDeliveryRow.id)).all()
    assert [n.key for n in notices] == [
        "usage_alert:acme:api_calls:2026-03-01:quota_80",
        "usage_alert:acme:api_calls:2026-03-01:hard_cap",
    ]
    assert notices[1].context["level_text"] == "reached its hard cap"
    assert [(d.event_id, d.event_type) for d in deliveries] == [
        ("usage_alert:acme:api_calls:2026-03-01:quota_80", "usage.alert"),
        ("usage_alert:acme:api_calls:2026-03-01:hard_cap", "usage.alert"),
    ]


def test_the_stacks_smtp_server_keeps_dunning_notices_on_disk(
    db: tuple[str, sessionmaker[Session]], stack: Settings
) -> None:
    """The stack's own SMTP server (deploy/local/smtp.py) receives what the relay sends and keeps it in its
    Maildir, where the demo reads it; the dunning templates render in words."""
    from deploy.local.smtp import SmtpSink, messages

    sink = SmtpSink(data_dir=stack.data_dir, port=stack.smtp_port)
    if not sink.status().running:  # a stack started from another checkout (its Maildir is elsewhere)
        assert sink.ready(), "no SMTP server answers where the settings point"
        pytest.skip("the running stack is another checkout's: its Maildir is not this data directory's")
    before = len(messages(sink.maildir))
    _, maker = db
    key = f"dunning:sub_{uuid.uuid4().hex}:1"
    step = {"invoice_id": "ML-000042", "step": "attempt 2 of 4", "next_retry": "2026-07-06", "final": False}
    with maker.begin() as s:
        assert enqueue_notice(s, "dunning_step", "acme", key, {**step, "amount": "49.99", "currency": "USD"}, T0)
    relay = EmailRelay(maker, SmtpSettings(host="127.0.0.1", port=stack.smtp_port), clock=lambda: T0)
    assert asyncio.run(relay.drain()) == 1
    kept = messages(sink.maildir)[before:]
    [msg] = [m for m in kept if m["Subject"] == "Payment failed: invoice ML-000042 is unpaid (attempt 2 of 4)"]
    assert msg["To"] == "ap@acme.test"
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "We will try again on 2026-07-06" in text and "(49.99 USD)" in text
