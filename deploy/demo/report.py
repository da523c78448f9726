"""What the demo shows at the end, from ClickHouse: per-tier summary, largest invoices, dead letters,
Stripe reports; and the same as an HTML page with charts (inline SVG, no dependencies)."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from deploy.demo.receivables import ReceivableFacts, receivables_html
from rating.money import ZERO, money_display
from rating.periods import Period
from sinks.clickhouse.demo_queries import DemoQueries

TIERS = ("free", "standard", "enterprise")


@dataclass
class TierRow:
    tier: str
    accounts: int = 0
    api_calls: Decimal = ZERO
    ai_requests: Decimal = ZERO
    overage: Decimal = ZERO
    revenue: Decimal = ZERO
    ai_cost: Decimal = ZERO

    @property
    def margin(self) -> Decimal:
        return self.revenue - self.ai_cost

    def cells(self) -> list[str]:
        return [
            self.tier,
            f"{self.accounts:,}",
            f"{self.api_calls:,.0f}",
            f"{self.ai_requests:,.0f}",
            money_display(self.overage),
            money_display(self.revenue),
            money_display(self.ai_cost),
            money_display(self.margin),
        ]


TIER_HEADERS = ["tier", "accounts", "API calls", "AI requests", "overage", "revenue", "AI cost", "margin"]


@dataclass
class DemoFacts:
    period: Period
    tiers: list[TierRow]
    top_invoices: list[tuple[str, str, Decimal, str]]  # account, tier, total, lines
    dead_letters: list[tuple[str, int, str]]  # reason, count, example
    stripe: list[tuple[str, int, int]]  # meter, reports, units
    daily: list[tuple[date, Decimal, Decimal]]  # day, API calls, AI requests
    reconcile: list[dict[str, object]] = field(default_factory=list)
    receivables: ReceivableFacts | None = None
    contracts: list[tuple[str, str, str, Decimal, Decimal]] = field(default_factory=list)  # account, code, ...

    def top_invoice_cells(self) -> list[list[str]]:
        return [[a, t, money_display(v), ln] for a, t, v, ln in self.top_invoices]

    def contract_cells(self) -> list[list[str]]:
        return [[a, c, d, f"{q.normalize():f}", money_display(v)] for a, c, d, q, v in self.contracts]


CONTRACT_HEADERS = ["account", "line", "what", "quantity", "amount"]
TOP_INVOICE_HEADERS = ["account", "tier", "total", "lines"]


def gather(client: Any, db: str, period: Period) -> DemoFacts:
    q = DemoQueries(client, db)
    key = period.key
    tier_of: dict[str, str] = {}
    by_tier = {t: TierRow(t) for t in TIERS}
    for account, tier, total in q.invoice_totals(key):
        tier_of[account] = tier
        row = by_tier.setdefault(tier, TierRow(tier))
        row.accounts += 1
        row.revenue += Decimal(total)
    for account, amount in q.overage_by_account(key):
        if account in tier_of:
            by_tier[tier_of[account]].overage += Decimal(amount)
    for account, calls, ai, cost in q.usage_by_account(period.start, period.end):
        found = by_tier.get(tier_of.get(account, "free"))
        if found is not None:
            row = found
            row.api_calls += Decimal(calls)
            row.ai_requests += Decimal(ai)
            row.ai_cost += Decimal(cost)
    top = [(a, t, Decimal(total), lines) for a, t, total, lines in q.top_invoices(key)]
    dead = [(r, int(n), str(ex)[:60]) for r, n, ex in q.dead_letters()]
    stripe = [(m, int(n), int(v)) for m, n, v in q.stripe_reports()]
    daily = [(d, Decimal(c), Decimal(a)) for d, c, a in q.usage_by_day(period.start, period.end)]
    contracts = [(a, c, d, Decimal(q), Decimal(v)) for a, c, d, q, v in q.contract_lines(key)]
    return DemoFacts(period, [by_tier[t] for t in by_tier], top, dead, stripe, daily, contracts=contracts)


# -- HTML ---------------------------------------------------------------------------------------------


def _esc(v: object) -> str:
    return html.escape(str(v))


def _table(headers: list[str], body: list[list[str]]) -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in headers)
    rows = "".join("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in r) + "</tr>" for r in body)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _line_chart(title: str, points: list[tuple[str, float]], color: str, w: int = 720, h: int = 220) -> str:
    if not points:
        return ""
    top = max(v for _, v in points) or 1.0
    step = (w - 60) / max(1, len(points) - 1)
    coords = [(50 + i * step, h - 30 - (v / top) * (h - 60)) for i, (_, v) in enumerate(points)]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    labels = "".join(
        f'<text x="{x:.0f}" y="{h - 10}" font-size="10" text-anchor="middle">{_esc(points[i][0][5:])}</text>'
        for i, (x, _) in enumerate(coords)
        if i % 5 == 0
    )
    return (
        f'<figure><figcaption>{_esc(title)}</figcaption><svg viewBox="0 0 {w} {h}" width="{w}" height="{h}">'
        f'<line x1="50" y1="{h - 30}" x2="{w - 10}" y2="{h - 30}" stroke="#999"/>'
        f'<text x="4" y="24" font-size="10">{top:,.0f}</text>'
        f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{path}"/>{labels}</svg></figure>'
    )


def _bar_chart(title: str, bars: list[tuple[str, float]], color: str, w: int = 720) -> str:
    if not bars:
        return ""
    top = max(v for _, v in bars) or 1.0
    h = 28 * len(bars) + 10
    items = "".join(
        f'<text x="0" y="{22 + i * 28}" font-size="12">{_esc(name)}</text>'
        f'<rect x="170" y="{8 + i * 28}" width="{max(1.0, v / top * (w - 290)):.1f}" height="18" fill="{color}"/>'
        f'<text x="{176 + v / top * (w - 290):.1f}" y="{22 + i * 28}" font-size="12">${v:,.2f}</text>'
        for i, (name, v) in enumerate(bars)
    )
    svg = f'<svg viewBox="0 0 {w} {h}" width="{w}" height="{h}">{items}</svg>'
    return f"<figure><figcaption>{_esc(title)}</figcaption>{svg}</figure>"


def write_html(facts: DemoFacts, path: Path) -> Path:
    p = facts.period
    clean = all(r.get("ok") for r in facts.reconcile)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Meterline demo</title><style>"
        "body{font-family:system-ui,sans-serif;margin:2rem;max-width:980px;color:#222}"
        "table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ddd;padding:4px 8px;text-align:right}"
        "th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}figure{margin:1.5rem 0}"
        "figcaption{font-weight:600;margin-bottom:.3rem}.ok{color:#1a7f37}.bad{color:#cf222e}</style></head><body>",
        f"<h1>Meterline demo — usage period {p.start:%Y-%m-%d} to {p.end:%Y-%m-%d}</h1>",
        _table(TIER_HEADERS, [t.cells() for t in facts.tiers]),
        _line_chart("API calls per day (settled)", [(d.isoformat(), float(c)) for d, c, _ in facts.daily], "#0969da"),
        _line_chart("AI requests per day (settled)", [(d.isoformat(), float(a)) for d, _, a in facts.daily], "#8250df"),
        _bar_chart("Revenue by tier", [(t.tier, float(t.revenue)) for t in facts.tiers], "#1a7f37"),
        _bar_chart("Largest invoices", [(f"{a} ({t})", float(v)) for a, t, v, _ in facts.top_invoices], "#bf8700"),
        "<h2>Largest invoices</h2>",
        _table(TOP_INVOICE_HEADERS, facts.top_invoice_cells()),
        "<h2>Enterprise contracts: add-ons, commitments, credits, provisioned seats</h2>",
        _table(CONTRACT_HEADERS, facts.contract_cells()),
        "<h2>Dead-letter topic</h2>",
        _table(["reason", "records", "example"], [[r, str(n), ex] for r, n, ex in facts.dead_letters]),
        "<h2>Reported to Stripe</h2>",
        _table(["meter", "reports", "units"], [[m, f"{n:,}", f"{v:,}"] for m, n, v in facts.stripe]),
        *(receivables_html(facts.receivables, _table) if facts.receivables else []),
        f"<h2>Reconciliation: <span class='{'ok' if clean else 'bad'}'>{'clean' if clean else 'MISMATCH'}</span></h2>",
        _table(
            ["account", "meter", "settled", "reported", "stripe"],
            [[str(r[k]) for k in ("account_id", "meter", "settled", "reported", "stripe")] for r in facts.reconcile],
        ),
        "</body></html>",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
