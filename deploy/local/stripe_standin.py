"""A stateful stand-in for Stripe's meter side, in front of the real stripe-mock (which is stateless and
always answers the same summary): every request goes to stripe-mock, meter events it accepts are
remembered (deduplicated by identifier, as Stripe does), and meter lists and event summaries are
answered from what was remembered. The demo and the reconciliation tests use it so ``reconcile`` has
a Stripe side to compare with; against real Stripe (a test-mode key) it is not needed."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class StripeMeterStandIn:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.events: dict[str, tuple[str, str, int, int]] = {}  # identifier -> (event, customer, value, ts)
        self.posts: list[tuple[str, dict[str, str], str]] = []  # (path, form fields, idempotency key)
        self.down = False  # while set, every connection is dropped unanswered (an outage, for tests)
        self._lock = threading.Lock()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _forward(self, method: str, body: bytes | None) -> tuple[int, bytes]:
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                req = urllib.request.Request(standin.upstream + self.path, data=body, method=method, headers=headers)
                try:
                    with urllib.request.urlopen(req, timeout=10) as resp:
                        return resp.status, resp.read()
                except urllib.error.HTTPError as err:
                    return err.code, err.read()

            def _outage(self) -> bool:
                if standin.down:
                    self.close_connection = True
                    self.connection.close()
                return standin.down

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if self._outage():
                    return
                status, payload = self._forward("POST", body)
                with standin._lock:
                    fields = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                    standin.posts.append((self.path, fields, self.headers.get("Idempotency-Key", "")))
                if self.path.startswith("/v1/billing/meter_events") and 200 <= status < 300:
                    f = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                    with standin._lock:
                        standin.events.setdefault(
                            f["identifier"],
                            (
                                f["event_name"],
                                f["payload[stripe_customer_id]"],
                                int(f["payload[value]"]),
                                int(f["timestamp"]),
                            ),
                        )
                self._send(status, payload)

            def do_GET(self) -> None:
                if self._outage():
                    return
                url = urlparse(self.path)
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                parts = url.path.strip("/").split("/")
                if url.path == "/v1/billing/meters":
                    with standin._lock:
                        names = sorted({e[0] for e in standin.events.values()})
                    data = [{"id": f"mtr_{n}", "object": "billing.meter", "event_name": n} for n in names]
                    self._send(200, _list(data, url.path))
                elif len(parts) == 5 and parts[4] == "event_summaries":
                    name = parts[3].removeprefix("mtr_")
                    start, end = int(q["start_time"]), int(q["end_time"])
                    with standin._lock:
                        total = sum(
                            v
                            for ev, cus, v, ts in standin.events.values()
                            if ev == name and cus == q["customer"] and start <= ts < end
                        )
                    summary = {
                        "id": f"mtrusg_{name}",
                        "object": "billing.meter_event_summary",
                        "aggregated_value": total,
                        "start_time": start,
                        "end_time": end,
                        "livemode": False,
                        "meter": parts[3],
                    }
                    self._send(200, _list([summary], url.path))
                else:
                    status, payload = self._forward("GET", None)
                    self._send(status, payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> StripeMeterStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _list(data: Sequence[Mapping[str, object]], url: str) -> bytes:
    return json.dumps({"object": "list", "data": data, "has_more": False, "url": url}).encode()
