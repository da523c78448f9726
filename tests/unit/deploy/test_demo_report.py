"""The demo's HTML report (deploy/demo/report.py) shows the enterprise contracts' lines: add-ons, the true-up,
credits drawn and provisioned seats, with their amounts."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from deploy.demo.receivables import ReceivableFacts
from deploy.demo.report import DemoFacts, write_html
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
    assert "<td>commitment_true_up</td>" in html and "<td>$8,448.70</td>" in html
    assert "<td>0.625</td><td>$937.50</td>" in html


def test_the_receivables_story_is_told_by_day() -> None:
    facts = ReceivableFacts(story=[("2026-12-04", "opened"), ("2026-12-07", "credit note"), ("2026-12-05", "declined")])
    assert [what for _, what in facts.timeline()] == ["opened", "declined", "credit note"]
