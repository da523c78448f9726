"""What the demo shows at the end, from ClickHouse: per-tier summary, largest invoices, dead letters,
Stripe reports; and the same as an HTML page (templates/report.html.j2) with matplotlib's charts inline."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2

from deploy.demo.charts import daily_line, money_bars
from deploy.demo.receivables import OVERDUE_HEADERS, RECEIVABLE_HEADERS, ReceivableFacts
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

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


@dataclass(frozen=True)
class HtmlTable:
    headers: list[str]
    rows: list[list[str]]
    right: frozenset[int] = frozenset()  # columns of numbers and amounts, aligned right


@dataclass(frozen=True)
class Chart:
    title: str
    svg: str


RECONCILE_KEYS = ("account_id", "meter", "settled", "reported", "stripe")


def write_html(facts: DemoFacts, path: Path) -> Path:
    p = facts.period
    charts = []
    if facts.daily:
        calls, ai = [(d, c) for d, c, _ in facts.daily], [(d, a) for d, _, a in facts.daily]
        charts += [
            Chart("API calls per day (settled)", daily_line(calls, "#0969da", "calls")),
            Chart("AI requests per day (settled)", daily_line(ai, "#8250df", "requests")),
        ]
    if facts.tiers:
        charts.append(Chart("Revenue by tier", money_bars([(t.tier, t.revenue) for t in facts.tiers], "#1a7f37")))
    if facts.top_invoices:
        top = [(f"{a} ({t})", v) for a, t, v, _ in facts.top_invoices]
        charts.append(Chart("Largest invoices", money_bars(top, "#bf8700")))
    r = facts.receivables
    page = _env.get_template("report.html.j2").render(
        period_start=f"{p.start:%Y-%m-%d}",
        period_end=f"{p.end:%Y-%m-%d}",
        tiers=HtmlTable(TIER_HEADERS, [t.cells() for t in facts.tiers], frozenset(range(1, 8))),
        charts=charts,
        top_invoices=HtmlTable(TOP_INVOICE_HEADERS, facts.top_invoice_cells(), frozenset({2})),
        contracts=HtmlTable(CONTRACT_HEADERS, facts.contract_cells(), frozenset({3, 4})),
        dead_letters=HtmlTable(
            ["reason", "records", "example"], [[d, f"{n:,}", ex] for d, n, ex in facts.dead_letters], frozenset({1})
        ),
        stripe=HtmlTable(
            ["meter", "reports", "units"], [[m, f"{n:,}", f"{v:,}"] for m, n, v in facts.stripe], frozenset({1, 2})
        ),
        receivables=None
        if r is None
        else {
            "status": HtmlTable(RECEIVABLE_HEADERS, r.status_cells(), frozenset({1, 2, 3})),
            "overdue": HtmlTable(OVERDUE_HEADERS, r.overdue_cells(), frozenset({1, 2})),
            "story": HtmlTable(["day", "what happened"], [[d, w] for d, w in r.timeline()]),
            "emails": r.emails,
            "maildir": str(Path(r.maildir)),
        },
        clean=all(row.get("ok") for row in facts.reconcile),
        reconcile=HtmlTable(
            ["account", *RECONCILE_KEYS[1:]],
            [[str(row[k]) for k in RECONCILE_KEYS] for row in facts.reconcile],
            frozenset({2, 3, 4}),
        ),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
