"""A small HTTP proxy that answers 429/500 or drops connections at random: failure injection in front
of a real server (stripe-mock), seeded so a failing run can be replayed."""

from __future__ import annotations

import random
import threading
import urllib.error
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class FaultProxy:
    def __init__(
        self, upstream: str, *, p429: float, p500: float, pdrop: float, plost: float, seed: int, p400: float = 0.0
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.rng = random.Random(seed)
        self.p429, self.p500, self.pdrop, self.plost, self.p400 = p429, p500, pdrop, plost, p400
        self.delivered: Counter[str] = Counter()  # identifier -> times it reached the upstream
        self.acknowledged: Counter[str] = Counter()  # identifier -> times the client saw a 2xx
        self.injected: Counter[str] = Counter()
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                ident = parse_qs(body.decode()).get("identifier", [""])[0]
                with proxy._lock:
                    roll = proxy.rng.random()
                fault = _pick(roll, proxy)
                if fault == "drop":
                    proxy._count("drop")
                    self.close_connection = True
                    self.connection.close()
                    return
                if fault in ("429", "500", "400"):
                    proxy._count(fault)
                    kind = b"invalid_request_error" if fault == "400" else b"api_error"
                    self.send_response(int(fault))
                    self.send_header("content-type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"error": {"message": "injected", "type": "' + kind + b'"}}')
                    return
                req = urllib.request.Request(
                    proxy.upstream + self.path,
                    data=body,
                    method="POST",
                    headers={k: v for k, v in self.headers.items() if k.lower() != "host"},
                )
                try:
                    with urllib.request.urlopen(req, timeout=10) as resp:
                        status, payload = resp.status, resp.read()
                except urllib.error.HTTPError as err:
                    status, payload = err.code, err.read()
                with proxy._lock:
                    proxy.delivered[ident] += 1
                if fault == "lost":  # delivered upstream, but the answer never comes back
                    proxy._count("lost")
                    self.close_connection = True
                    self.connection.close()
                    return
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                if 200 <= status < 300:
                    with proxy._lock:
                        proxy.acknowledged[ident] += 1

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _count(self, what: str) -> None:
        with self._lock:
            self.injected[what] += 1

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _pick(roll: float, p: FaultProxy) -> str:
    for name, prob in (("400", p.p400), ("429", p.p429), ("500", p.p500), ("drop", p.pdrop), ("lost", p.plost)):
        if roll < prob:
            return name
        roll -= prob
    return "ok"
