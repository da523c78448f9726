"""Micro-benchmark of the hot-path decoder: events/s of ``decode_record`` on batch records.

    .venv/bin/python bench/decode.py [--events-per-record 100] [--records 2000] [--bad-every 0]

Prints events/s and µs per event for the fast path (all events valid) and, with ``--bad-every N``,
for records holding one bad event every N (which takes the per-event slow path).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from schemas.decode import decode_record

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def make_event(rng: random.Random, i: int) -> dict[str, object]:
    ts = NOW - timedelta(seconds=rng.randint(0, 3600))
    user = f"user-{rng.randint(1, 5000)}"
    org = f"org-{rng.randint(1, 300)}" if rng.random() < 0.7 else None
    kind = rng.choice(["api_calls", "api_calls", "ai_requests", "storage_gb", "premium_feature", "active_user"])
    props: dict[str, object] = {"module": rng.choice(["drive", "chat", "household", "business"])}
    quantity: object = 1
    if kind == "api_calls":
        props["endpoint"] = rng.choice(["/v1/search", "/v1/files", "/v1/chat"])
        quantity = rng.randint(1, 5)
    elif kind == "ai_requests":
        props |= {
            "provider": rng.choice(["openai", "anthropic", "local"]),
            "model": rng.choice(["gpt-4o", "claude-sonnet", "llama-3-8b"]),
            "input_tokens": rng.randint(10, 8000),
            "output_tokens": rng.randint(10, 2000),
        }
    elif kind == "storage_gb":
        quantity = f"{rng.uniform(0, 200):.3f}"
    elif kind == "premium_feature":
        props["feature"] = rng.choice(["deep_research", "document_analysis", "voice_synthesis"])
    return {
        "event_id": f"evt-{i:012d}-{rng.getrandbits(48):012x}",
        # Half RFC 3339 with an offset, half epoch milliseconds, as real producers mix them.
        "timestamp": ts.isoformat() if i % 2 else int(ts.timestamp() * 1000),
        "user_id": user,
        "org_id": org,
        "metric": kind,
        "quantity": quantity,
        "properties": props,
        "source": "gateway",
    }


def run(records: list[bytes], events: int, label: str) -> None:
    for r in records[:50]:  # warm up
        decode_record(r, now=NOW)
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        n = 0
        for r in records:
            n += len(decode_record(r, now=NOW).accepted)
        best = min(best, time.perf_counter() - t0)
    print(f"{label}: {events / best:,.0f} events/s, {best / events * 1e6:.2f} µs/event ({n:,} accepted of {events:,})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events-per-record", type=int, default=100)
    ap.add_argument("--records", type=int, default=2000)
    ap.add_argument("--bad-every", type=int, default=50, help="one bad event every N for the mixed run (0: skip)")
    args = ap.parse_args()
    rng = random.Random(7)
    per, n = args.events_per_record, args.records
    batches = [[make_event(rng, r * per + i) for i in range(per)] for r in range(n)]
    clean = [orjson.dumps({"events": b}) for b in batches]
    size = sum(map(len, clean)) / (n * per)
    print(f"{n:,} records x {per} events, {size:.0f} bytes/event")
    run(clean, n * per, "valid batches (fast path)")
    if args.bad_every:
        mixed = []
        for b in batches:
            b = [dict(e, metric="tokens") if i % args.bad_every == 0 else e for i, e in enumerate(b)]
            mixed.append(orjson.dumps({"events": b}))
        run(mixed, n * per, f"1 bad in {args.bad_every} (slow path)")
    single = [orjson.dumps(e) for b in batches[: max(1, n // 10)] for e in b]
    run(single, len(single), "one event per record")


if __name__ == "__main__":
    main()
