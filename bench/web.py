"""The billing app's weight and first load (issue 16): the initial JavaScript the dashboard needs, gzipped,
and the time from navigation to the dashboard showing the account's plan, in Debian's Chromium, headless.

- initial JS: every script ``web/dist/index.html`` loads or preloads, gzipped at level 9 (what a server's
  compression would send); the chart's chunk, loaded on demand, is printed apart. Goal: < 250 KB.
- first load: a fresh browser context (cold cache) opens a sign-in link on a real ``meterline api serve``
  process serving ``web/dist``, is redirected to ``/app/`` and waits until the plan is shown;
  ``domContentLoaded`` and that moment are printed, median of 5. Goal: < 1 s.

    python bench/web.py            # needs web/dist (make web) and the local stack (make stack-up)
    python bench/web.py --size     # the size alone, without the stack
"""

from __future__ import annotations

import argparse
import gzip
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DIST = ROOT / "web" / "dist"


def initial_js() -> tuple[int, int, list[tuple[str, int]]]:
    """Raw and gzipped bytes of the scripts index.html loads, and the lazily loaded chunks' gzipped sizes."""
    html = (DIST / "index.html").read_text()
    first = set(re.findall(r'(?:src|href)="/app/(assets/[^"]+\.js)"', html))
    raw = gz = 0
    for name in sorted(first):
        data = (DIST / name).read_bytes()
        raw += len(data)
        gz += len(gzip.compress(data, 9))
    lazy = [
        (p.name, len(gzip.compress(p.read_bytes(), 9)))
        for p in sorted((DIST / "assets").glob("*.js"))
        if f"assets/{p.name}" not in first
    ]
    return raw, gz, lazy


def first_load(runs: int) -> list[tuple[float, float]]:
    from playwright.sync_api import expect

    from streams.settings import load_settings
    from tests.support.browser import chromium, served_api

    settings = load_settings()
    results: list[tuple[float, float]] = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-web-") as tmp,
        served_api(settings.model_copy(update={"topic_prefix": f"benchweb{int(time.time())}."}), Path(tmp)) as api,
        chromium() as browser,
    ):
        org = api.bootstrap("Bench Co", "bench")
        assert api.call(org, "POST", "/api/billing/subscriptions/create", {"tier": "standard"}).status_code == 201
        for _ in range(runs + 1):  # the first warms the API process, not the browser (each context is cold)
            context = browser.new_context()
            page = context.new_page()
            link = api.server.login_link("bench", org.id)
            start = time.perf_counter()
            page.goto(link)  # the link's page, its "Sign in" (the exchange), then /app/ with a cold cache
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("region", name="Subscription")).to_contain_text("standard", timeout=20_000)
            shown = time.perf_counter() - start
            dcl = page.evaluate(
                "() => { const n = performance.getEntriesByType('navigation')[0]; return n.domContentLoadedEventEnd; }"
            )
            results.append((float(dcl) / 1000, shown))
            context.close()
    return results[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", action="store_true", help="print the JavaScript size only (no stack needed)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not (DIST / "index.html").exists():
        sys.exit("web/dist is not built: make web")
    raw, gz, lazy = initial_js()
    print(f"initial JS: {raw / 1024:.1f} KB raw, {gz / 1024:.1f} KB gzipped (goal < 250 KB)")
    for name, size in lazy:
        print(f"  on demand: {name} {size / 1024:.1f} KB gzipped")
    if args.size:
        return
    loads = first_load(args.runs)
    dcl = statistics.median(d for d, _ in loads)
    shown = statistics.median(s for _, s in loads)
    print(f"dashboard first load (cold context, median of {len(loads)}): DOMContentLoaded {dcl * 1000:.0f} ms,", end="")
    print(f" plan shown {shown * 1000:.0f} ms (goal < 1000 ms); runs: {', '.join(f'{s * 1000:.0f}' for _, s in loads)}")


if __name__ == "__main__":
    main()
