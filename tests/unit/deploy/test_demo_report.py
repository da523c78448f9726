"""The demo's HTML report (deploy/demo/report.py) shows the enterprise contracts' lines: add-ons, the true-up,
credits drawn and provisioned seats, with their amounts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

from deploy.demo.receivables import ReceivableFacts
from deploy.demo.report import DemoFacts, TierRow, write_html
from rating.periods import Period

NOV = Period(datetime(2026, 11, 4, tzinfo=UTC), datetime(2026, 12, 4, tzinfo=UTC))


def test_the_report_lists_the_contract_lines(tmp_path: Path) -> None:
    facts = DemoFacts(NOV, [], [], [], [], [])
    facts.contracts = [
        ("org-00", "commitment_true_up", "Commitment true-up (20000.00 per period)", Decimal(1), Decimal("8448.70")),
        ("org-00", "credit:cg_demo_prepaid", "Credit: Prepaid usage", Decimal(1), Decimal(-5000)),
        ("org-01", "addon:advanced_analytics", "Advanced analytics", Decimal("0.625"), Decimal("937.5")),
    ]
    assert facts.contract_cells()[1] == ["org-00", "credit:cg_demo_prepaid", "Credit: Prepaid usage", "1", "-$5,000.00"]
    html = write_html(facts, tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Enterprise contracts" in html
    rows = _rows(html)
    assert ["org-00", "commitment_true_up", "Commitment true-up (20000.00 per period)", "1", "$8,448.70"] in rows
    assert ["org-01", "addon:advanced_analytics", "Advanced analytics", "0.625", "$937.50"] in rows


def test_the_report_draws_its_charts_and_escapes_what_it_shows(tmp_path: Path) -> None:
    """matplotlib's SVG inline for the daily usage and the amounts; a dead letter's example is data, not markup."""
    days = [(NOV.start.date() + timedelta(days=i), Decimal(1000 + i), Decimal(i)) for i in range(30)]
    tiers = [TierRow("standard", 2, revenue=Decimal("99.98")), TierRow("free", 5)]
    facts = DemoFacts(NOV, tiers, [("org-01", "enterprise", Decimal("39107.05"), "seats 1700")], [], [], days)
    facts.dead_letters = [("not_json", 1, "<script>alert(1)</script>")]
    html = write_html(facts, tmp_path / "report.html").read_text(encoding="utf-8")
    assert html.count("<svg") == 4  # API calls, AI requests, revenue by tier, largest invoices
    assert "$39,107.05" in html and "$99.98" in html  # bar labels from the Decimals
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert ["standard", "2", "0", "0", "$0.00", "$99.98", "$0.00", "$99.98"] in _rows(html)


def _rows(html: str) -> list[list[str]]:
    """The text of every table row's cells."""

    class Cells(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.rows: list[list[str]] = []
            self.cell: list[str] | None = None

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "tr":
                self.rows.append([])
            elif tag in ("td", "th"):
                self.cell = []

        def handle_endtag(self, tag: str) -> None:
            if tag in ("td", "th") and self.cell is not None:
                self.rows[-1].append("".join(self.cell).strip())
                self.cell = None

        def handle_data(self, data: str) -> None:
            if self.cell is not None:
                self.cell.append(data)

    parser = Cells()
    parser.feed(html)
    return parser.rows


def test_the_receivables_story_is_told_by_day() -> None:
    facts = ReceivableFacts(story=[("2026-12-04", "opened"), ("2026-12-07", "credit note"), ("2026-12-05", "declined")])
    assert [what for _, what in facts.timeline()] == ["opened", "declined", "credit note"]
