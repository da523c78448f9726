"""The gateway's check (issue 21): ``GET /api/billing/entitlements/{account}/{feature}`` against one real API
process (``meterline api serve``), on the SQLite store and on PostgreSQL (a temporary cluster, as the tests
start it with ``deploy.local.postgres``).

Each run starts a fresh API process over a store holding one organization on the standard tier, warms it
with 100 requests, then measures from a client on the same machine (keep-alive HTTP/1.1 connections):

- closed loop: 3,000 entitlement requests at concurrency 50 with the organization's API key, then with a
  member's JWT: answers/s, p50, p99;
- open loop: 1,000 requests/s offered for 5 s (each request sent at its scheduled time on an idle
  connection, a new one if none is idle; latency counted from the scheduled time, so a stalled server is
  not hidden): p50, p99, max;
- the floor: ``/api/billing/healthz`` (no credential, no store) in a closed loop, what the framework costs,
  and at 1,000 requests/s offered: the control for the tail (a stall of the machine shows there too).

    python bench/api.py                        # both stores, 3 runs each
    python bench/api.py --store sqlite --runs 1
    python bench/api.py --source /tmp/main-src --plain   # another checkout's server, uvicorn as before

``--source DIR`` serves the API from another checkout (e.g. ``git archive main | tar -x -C DIR``) with this
bench, for before/after runs back to back; ``--plain`` hides httptools and uvloop from the server, so
uvicorn runs its pure-Python HTTP parser on asyncio's loop (what it did before they were dependencies).

Needs the local stack (Kafka for the quota-state follower and the outbox, stripe-mock for the mirror).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import jwt  # noqa: E402

JWT_SECRET = "bench-api-jwt-secret-0123456789abcdef"
FEATURE = "api_calls"


class _Conn(asyncio.Protocol):
    """One keep-alive connection: one request at a time, the answer read by its Content-Length."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.waiter: asyncio.Future[int] | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        w = self.waiter
        if w is None or w.done():
            return
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buf[:end]).lower()
        i = head.find(b"content-length:")
        j = head.find(b"\r\n", i)
        n = int(head[i + 15 : j if j > 0 else len(head)]) if i >= 0 else 0
        if len(self.buf) < end + 4 + n:
            return
        status = int(self.buf[9:12])
        del self.buf[: end + 4 + n]
        w.set_result(status)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("closed"))

    async def request(self, raw: bytes) -> int:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(raw)
        return await self.waiter


async def _connect(port: int) -> _Conn:
    _, proto = await asyncio.get_running_loop().create_connection(_Conn, "127.0.0.1", port)
    return proto


def _raw(path: str, token: str | None) -> bytes:
    auth = f"authorization: Bearer {token}\r\n" if token else ""
    return f"GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\n{auth}\r\n".encode()


def _pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))] * 1000 if s else float("nan")


async def closed_loop(port: int, raw: bytes, total: int, concurrency: int) -> dict[str, Any]:
    conns = [await _connect(port) for _ in range(concurrency)]
    lat: list[float] = []
    bad: dict[int, int] = {}
    left = total

    async def worker(c: _Conn) -> None:
        nonlocal left
        while left > 0:
            left -= 1
            t = time.perf_counter()
            st = await c.request(raw)
            lat.append(time.perf_counter() - t)
            if st != 200:
                bad[st] = bad.get(st, 0) + 1

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    wall = time.perf_counter() - t0
    for c in conns:
        assert c.transport is not None
        c.transport.close()
    return {"rps": round(total / wall), "p50_ms": _pct(lat, 0.5), "p99_ms": _pct(lat, 0.99), "non_200": bad}


async def open_loop(port: int, raw: bytes, rate: float, seconds: float, max_conns: int = 400) -> dict[str, Any]:
    idle = [await _connect(port) for _ in range(20)]
    opened = len(idle)
    lat: list[float] = []
    bad: dict[int, int] = {}
    slow: set[int] = set()
    tasks = []

    async def one(due: float) -> None:
        nonlocal opened
        if idle:
            c = idle.pop()
        else:
            opened += 1
            c = await _connect(port)
        try:
            st = await c.request(raw)
        except ConnectionError:
            st = 0
        lat.append(time.perf_counter() - due)
        if lat[-1] > 0.02:
            slow.add(int((due - t0) * 10))  # the 100 ms window it was due in
        if st != 200:
            bad[st] = bad.get(st, 0) + 1
        idle.append(c)

    n = int(rate * seconds)
    t0 = time.perf_counter() + 0.05  # not loop.time(): uvloop's is the loop iteration's, in milliseconds
    for i in range(n):
        due = t0 + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if opened >= max_conns and not idle:
            lat.append(float("inf"))  # the client ran out of connections: counted as never answered
            bad[0] = bad.get(0, 0) + 1
            continue
        tasks.append(asyncio.create_task(one(due)))
    await asyncio.gather(*tasks)
    for c in idle:
        assert c.transport is not None
        c.transport.close()
    return {
        "offered_rps": rate,
        "p50_ms": _pct(lat, 0.5),
        "p99_ms": _pct(lat, 0.99),
        "max_ms": max(lat) * 1000 if lat else float("nan"),
        "connections": opened,
        "non_200": bad,
        # how many 100 ms windows held a request answered in over 20 ms: a few windows are stalls (of the
        # machine, a collection), many are a server that cannot keep up
        "windows_over_20ms": len(slow),
    }


#: Where the server's code comes from, and whether uvicorn may use httptools and uvloop (set by ``main``).
SOURCE: Path = ROOT
PLAIN = False


def _meterline(*args: str) -> list[str]:
    if not PLAIN:
        return [sys.executable, "-m", "streams.cli.main", *args]
    code = (
        "import runpy, sys\n"
        "sys.modules['uvloop'] = sys.modules['httptools'] = None  # ImportError: uvicorn falls back\n"
        f"sys.argv = ['meterline', *{list(args)!r}]\n"
        "runpy.run_module('streams.cli.main', run_name='__main__')\n"
    )
    return [sys.executable, "-c", code]


def _env(data_dir: Path, store_url: str | None, prefix: str) -> dict[str, str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(SOURCE),
        "METERLINE_DATA_DIR": str(data_dir),
        "METERLINE_TOPIC_PREFIX": prefix,
        "METERLINE_API_JWT_SECRET": JWT_SECRET,
    }
    env.pop("METERLINE_API_DATABASE_URL", None)
    if store_url:
        env["METERLINE_API_DATABASE_URL"] = store_url
    return env


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as fh:
        proc = subprocess.Popen(
            _meterline("api", "serve", "--port", str(port)),
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            cwd=SOURCE,
        )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the API exited ({proc.returncode}); see {log}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/billing/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"the API did not answer in 90 s; see {log}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def _bootstrap(env: dict[str, str]) -> dict[str, str]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "streams.cli.main",
            "api",
            "bootstrap",
            "--name",
            "Bench Co",
            "--owner",
            "pat",
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=SOURCE,
    )
    boot: dict[str, str] = json.loads(out.stdout)
    return boot


async def _one_run(port: int, org: str, key: str, member_token: str) -> dict[str, Any]:
    path = f"/api/billing/entitlements/{org}/{FEATURE}"
    by_key, by_jwt = _raw(path, key), _raw(path, member_token)
    await closed_loop(port, by_key, 100, 10)  # warm-up
    await closed_loop(port, by_jwt, 100, 10)
    gc.collect()
    gc.disable()  # the client's own collections would count as the server's latency
    try:
        return {
            "closed_key": await closed_loop(port, by_key, 3000, 50),
            "closed_jwt": await closed_loop(port, by_jwt, 3000, 50),
            "open_1000": await open_loop(port, by_key, 1000, 5),
            "healthz": await closed_loop(port, _raw("/api/billing/healthz", None), 3000, 50),
            # the control: the same offered load on a path that does nothing, so a tail that shows here too is
            # the machine's (the client and the server share its cores with whatever else runs)
            "open_1000_healthz": await open_loop(port, _raw("/api/billing/healthz", None), 1000, 5),
        }
    finally:
        gc.enable()


def _run_client(coro: Any) -> Any:
    """The client on uvloop when installed (less of the shared CPU for the client), else asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def bench_store(store: str, runs: int) -> list[dict[str, Any]]:
    data = Path(tempfile.mkdtemp(prefix="meterline-bench-api-"))
    prefix = f"bench-api-{uuid.uuid4().hex[:8]}."
    pg = None
    url = None
    if store == "postgresql":
        from deploy.local.postgres import PostgresServer

        pg = PostgresServer(Path(tempfile.mkdtemp(prefix="meterline-pg-")), port=0)
        pg.start(timeout=90)
        url = pg.create_database("bench_api")
    results = []
    try:
        env = _env(data, url, prefix)
        boot = _bootstrap(env)
        org, key = boot["organization_id"], boot["api_key"]
        port = _free_port()
        proc = _serve(env, port, data / "api.log")
        try:
            r = httpx.post(
                f"http://127.0.0.1:{port}/api/billing/subscriptions/create",
                json={"tier": "standard"},
                headers={"authorization": f"Bearer {key}"},
                timeout=30,
            )
            assert r.status_code == 201, r.text
        finally:
            _stop(proc)
        member = jwt.encode({"sub": "pat", "org": org, "exp": int(time.time()) + 3600}, JWT_SECRET, algorithm="HS256")
        for i in range(runs):
            proc = _serve(env, port, data / "api.log")  # a fresh process for every run
            try:
                res = _run_client(_one_run(port, org, key, member))
            finally:
                _stop(proc)
            res["store"], res["run"] = store, i + 1
            print(json.dumps(res), flush=True)
            results.append(res)
    finally:
        if pg is not None:
            pg.destroy()
        shutil.rmtree(data, ignore_errors=True)
        try:
            asyncio.run(_delete_topics(prefix))
        except Exception as exc:  # best effort: the figures are printed already
            print(f"could not delete the topics {prefix}*: {exc}", file=sys.stderr)
    return results


async def _delete_topics(prefix: str) -> None:
    """The run's topics (the API creates them to follow and publish): the shared broker keeps no litter."""
    from aiokafka.admin import AIOKafkaAdminClient

    from streams.settings import load_settings

    admin = AIOKafkaAdminClient(bootstrap_servers=load_settings().kafka_bootstrap)
    await admin.start()
    try:
        mine = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if mine:
            await admin.delete_topics(mine)
    finally:
        await admin.close()


def _range(results: list[dict[str, Any]], phase: str, field: str) -> str:
    xs = [r[phase][field] for r in results]
    fmt = "{:.0f}" if field in ("rps", "windows_over_20ms") else "{:.1f}"
    lo, hi = fmt.format(min(xs)), fmt.format(max(xs))
    return lo if lo == hi else f"{lo}-{hi}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--store", choices=["sqlite", "postgresql", "both"], default="both")
    p.add_argument("--runs", type=int, default=3, help="fresh API processes per store (default 3)")
    p.add_argument("--source", type=Path, default=ROOT, help="serve the API from this checkout (default: this one)")
    p.add_argument("--plain", action="store_true", help="uvicorn without httptools and uvloop (as before)")
    args = p.parse_args(argv)
    global SOURCE, PLAIN
    SOURCE, PLAIN = args.source.resolve(), args.plain
    print(f"server: {SOURCE}{' (uvicorn without httptools, uvloop)' if PLAIN else ''}")
    stores = ["sqlite", "postgresql"] if args.store == "both" else [args.store]
    print(f"uptime: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (load 1/5/15 min)")
    summary = {s: bench_store(s, args.runs) for s in stores}
    print(f"\nentitlement answers, {args.runs} run(s) per store (ranges min-max):")
    for store, results in summary.items():
        print(
            f"  {store:10s} closed c=50  API key: {_range(results, 'closed_key', 'rps')}/s "
            f"p50 {_range(results, 'closed_key', 'p50_ms')} ms p99 {_range(results, 'closed_key', 'p99_ms')} ms"
            f" | JWT: {_range(results, 'closed_jwt', 'rps')}/s p99 {_range(results, 'closed_jwt', 'p99_ms')} ms"
        )
        print(
            f"  {store:10s} open 1000/s  p50 {_range(results, 'open_1000', 'p50_ms')} ms "
            f"p99 {_range(results, 'open_1000', 'p99_ms')} ms max {_range(results, 'open_1000', 'max_ms')} ms"
            f" ({_range(results, 'open_1000', 'windows_over_20ms')} of 50 windows of 100 ms over 20 ms)"
            f" | healthz floor {_range(results, 'healthz', 'rps')}/s, at 1000/s p99"
            f" {_range(results, 'open_1000_healthz', 'p99_ms')} ms"
        )
    print(f"load after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
