"""Invoices of hand-worked scenarios that cross the rules' edges, settled in real chDB and read through the API
(its JSON and its PDF): every figure below is worked out by hand from docs/rating.md and docs/invoices.md.

Late usage: a finalized invoice is never edited; a late event's effect on it is billed as ``correction:<code>``
lines of the next open period (docs/architecture.md §7). Only the lines that charge are carried: that invoice
taxes the correction with its own tax lines and its own credit grants pay it, as for any of its lines; and a
per-period commitment there counts only its own period's charges (a correction belongs to the period it
corrects, whose true-up is corrected with it)."""

from __future__ import annotations

import calendar
import itertools
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from rating.tax import parse_tax_table
from streams.api.warehouse import Warehouse
from streams.settlement.settler import Settler, period_of
from streams.store import receivables
from tests.support.api import CH_DB, Api
from tests.support.pdf import pdf_text
from tests.support.settled import api_settler, event_block

pytestmark = pytest.mark.integration
BASE = "/api/billing/subscriptions"
TAX_TABLE = parse_tax_table(
    '[[rates]]\ncountry = "DE"\nname = "VAT"\nrate = "0.19"\neffective_from = 2021-01-01\n', "test"
)
# Each test (and store) gets a year of its own: the module's warehouse settles only forward (its last run's
# cutoff), so one test's months must come after the last one's. A contract year from May 1 holds no Feb 29.
_YEARS = (y for y in itertools.count(2026) if not calendar.isleap(y + 1))


@pytest.fixture
def year() -> int:
    return next(_YEARS)


def after(year: int, month: int) -> datetime:
    """Settled until the 3rd of ``month``: the month before closed, a day's grace passed: finalized."""
    return datetime(year, month, 3, tzinfo=UTC)


def _send(warehouse: Warehouse, org: str, user: str, metric: str, at: datetime, qty: int, **props: str) -> None:
    """One event of ``user`` in ``org`` stored as the warehouse sink stores it (ids unique per org, user, time)."""
    block = event_block(org, user, org, metric, at, [qty], id_prefix=f"{org}-{user}-{metric}", properties=props or None)
    warehouse._open().raw_insert(f"{CH_DB}.events", None, insert_block=block, fmt="JSONEachRow")


async def _standard_org(api: Api, owner: str, year: int, **patch: Any) -> tuple[str, str]:
    """An organization (with ``patch``: its billing details) on standard monthly anchored May 1: (org, sub id)."""
    org = await api.org(owner)
    h = api.as_user(owner, org)
    if patch:
        r = await api.client.patch(f"/api/billing/organizations/{org}", json=patch, headers=h)
        assert r.status_code == 200, r.text
    body = {"tier": "standard", "anchor": f"{year}-05-01"}
    r = await api.client.post(f"{BASE}/create", json=body, headers=h)
    assert r.status_code == 201, r.text
    return org, r.json()["id"]


def _taxed_settler(api: Api, warehouse: Warehouse, org: str) -> Settler:
    return api_settler(api, warehouse._open(), lambda: [org], tax_table=TAX_TABLE)


async def _invoice(api: Api, org: str, owner: str, key: str) -> dict[str, Any]:
    r = await api.client.get(f"/api/billing/invoices/in_{org}_{key}", headers=api.as_user(owner, org))
    assert r.status_code == 200, r.text
    doc: dict[str, Any] = r.json()
    return doc


def _amounts(doc: dict[str, Any]) -> dict[str, str]:
    return {ln["code"]: ln["amount"] for ln in doc["lines"]}


async def test_late_usage_of_a_taxed_invoice_is_taxed_once_on_the_next(
    make_api: Callable[..., Any], warehouse: Warehouse, year: int
) -> None:
    """A German organization (VAT 19 %, no Stripe customer), standard monthly from May 1.

    May: 109,951 API calls → 9,951 over the 100,000 included x $0.01 = $99.51; base fee $49.99;
    subtotal $149.50; VAT 149.50 x 0.19 = 28.405 → $28.40 (half-even at the line: the cent digit 0 is even;
    half-up would give 28.41); total $177.90 → amount_due 17,790.
    Late (after May is final): 1,000 calls dated May 20 → May would be 10,951 over = $109.51, +$10.00.
    June: base $49.99 + correction:api_calls_overage 1,000 x $0.01 = $10.00 → subtotal $59.99;
    VAT 59.99 x 0.19 = 11.3981 → $11.40; total $71.39 → amount_due 7,139. May stays $177.90.
    (Carrying May's VAT as a correction too — 159.50 x 0.19 = 30.305 → 30.30, +1.90 — and taxing June on
    49.99 + 10.00 + 1.90 = 61.89 → 11.76 billed $73.65: the late usage's tax twice, and tax on tax.)"""
    async with make_api(now=datetime(year, 5, 1, tzinfo=UTC)) as api:
        address = {"line1": "Hauptstraße 5", "city": "Berlin", "postal_code": "10115", "country": "DE"}
        org, _ = await _standard_org(api, "tia", year, billing_address=address)
        api.clock.now = datetime(year, 7, 10, 12, tzinfo=UTC)
        _send(warehouse, org, "tia", "api_calls", datetime(year, 5, 3, 9, tzinfo=UTC), 109_951)
        settler = _taxed_settler(api, warehouse, org)
        assert f"in_{org}_{year}-05" in settler.settle(after(year, 6), datetime.now(UTC)).finalized
        may = await _invoice(api, org, "tia", f"{year}-05")
        assert _amounts(may) == {"base_fee": "49.99", "api_calls_overage": "99.51", "tax:0.19": "28.40"}
        assert (may["subtotal"], may["total"], may["amount_due"], may["amount_remaining"]) == (
            "149.50",
            "177.90",
            17_790,
            17_790,
        )

        _send(warehouse, org, "tia", "api_calls", datetime(year, 5, 20, 12, tzinfo=UTC), 1_000)
        assert settler.settle(after(year, 6), datetime.now(UTC)).corrections == 1  # the overage line only
        assert f"in_{org}_{year}-06" in settler.settle(after(year, 7), datetime.now(UTC)).finalized
        june = await _invoice(api, org, "tia", f"{year}-06")
        assert _amounts(june) == {
            "base_fee": "49.99",
            "correction:api_calls_overage": "10.00",
            "tax:0.19": "11.40",
        }
        tax = next(ln for ln in june["lines"] if ln["code"] == "tax:0.19")
        assert (tax["quantity"], tax["unit_price"]) == ("59.99", "0.19")
        assert (june["subtotal"], june["total"], june["amount_due"], june["amount_paid"]) == (
            "59.99",
            "71.39",
            7_139,
            0,
        )
        assert (await _invoice(api, org, "tia", f"{year}-05"))["total"] == "177.90"  # never edited

        r = await api.client.get(f"/api/billing/invoices/in_{org}_{year}-06.pdf", headers=api.as_user("tia", org))
        text = pdf_text(r.content)
        for needle in (f"Correction of {year}-05: api_calls_overage", "$59.99", "Tax (0.19)", "$11.40", "$71.39"):
            assert needle in text, needle


async def test_late_usage_is_paid_by_what_remains_of_a_grant_never_past_its_amount(
    make_api: Callable[..., Any], warehouse: Warehouse, year: int
) -> None:
    """Standard monthly from May 1, a $600 grant from May 1 (no expiry).

    May: 150,000 calls → $49.99 + 50,000 x $0.01 = $549.99; the grant pays it all: credit -$549.99, total $0.00,
    $50.01 left. Late: 1,000 calls dated May 20 → +$10.00 on June as correction:api_calls_overage.
    June: $49.99 + $10.00 = $59.99; the grant pays what is left of it, $50.01 → total $9.98, amount_due 998;
    $0 left (drawn 549.99 + 50.01 = 600.00). (Carrying May's bigger draw as correction:credit -$10.00 as well
    had June's own draw take $49.99 of the 50.01: the grant paid $609.98 of its $600 and showed 0.02 left.)"""
    async with make_api(now=datetime(year, 5, 1, tzinfo=UTC)) as api:
        org, sid = await _standard_org(api, "gus", year)
        grant = {"name": "Welcome", "amount": "600"}
        r = await api.client.post(f"{BASE}/{sid}/credit-grants", json=grant, headers=api.as_operator())
        assert r.status_code == 201, r.text
        gid = r.json()["id"]
        api.clock.now = datetime(year, 7, 10, 12, tzinfo=UTC)
        _send(warehouse, org, "gus", "api_calls", datetime(year, 5, 3, 10, tzinfo=UTC), 150_000)
        settler = api_settler(api, warehouse._open(), lambda: [org])
        settler.settle(after(year, 6), datetime.now(UTC))
        assert _amounts(await _invoice(api, org, "gus", f"{year}-05")) == {
            "base_fee": "49.99",
            "api_calls_overage": "500.00",
            f"credit:{gid}": "-549.99",
        }

        _send(warehouse, org, "gus", "api_calls", datetime(year, 5, 20, 12, tzinfo=UTC), 1_000)
        assert settler.settle(after(year, 6), datetime.now(UTC)).corrections == 1
        settler.settle(after(year, 7), datetime.now(UTC))
        june = await _invoice(api, org, "gus", f"{year}-06")
        assert _amounts(june) == {
            "base_fee": "49.99",
            "correction:api_calls_overage": "10.00",
            f"credit:{gid}": "-50.01",
        }
        assert (june["total"], june["amount_due"]) == ("9.98", 998)
        listed = (await api.client.get(f"{BASE}/{sid}/credit-grants", headers=api.as_user("gus", org))).json()
        assert listed["data"][0]["remaining"] in ("0", "0.00")


async def test_late_usage_of_a_period_that_met_its_commitment_is_billed_beside_the_next_true_up(
    make_api: Callable[..., Any], warehouse: Warehouse, year: int
) -> None:
    """Enterprise organization from May 1, contract: platform fee $0, a $2,500 commitment per period.

    May: 60 users with usage → 60 seats (1-100 at $50) = $3,000 ≥ $2,500: no true-up; total $3,000.00.
    Late: 20 deep_research uses dated May 20 by a May user (no new seat) → 20 x $0.50 = $10.00, May met its
    commitment so nothing of it is trued up: June carries correction:premium_feature:deep_research $10.00.
    June: 20 users → 20 x $50 = $1,000; short of $2,500 by $1,500; total 1,000 + 1,500 + 10 = $2,510.00.
    (Counting the correction among June's charges trued up $1,490: June $2,500.00, the late usage never billed.)"""
    async with make_api(now=datetime(year, 5, 1, tzinfo=UTC)) as api:
        org = await api.org("ena")
        r = await api.client.post(
            f"{BASE}/create", json={"tier": "enterprise", "anchor": f"{year}-05-01"}, headers=api.as_user("ena", org)
        )
        assert r.status_code == 201, r.text
        contract = {"contract": {"platform_fee": {"year": "0"}, "commitment": {"amount": "2500", "per": "period"}}}
        r = await api.client.put(f"{BASE}/{r.json()['id']}/contract", json=contract, headers=api.as_operator())
        assert r.status_code == 200, r.text
        api.clock.now = datetime(year, 7, 10, 12, tzinfo=UTC)
        for u in range(60):
            _send(warehouse, org, f"m{u}", "api_calls", datetime(year, 5, 4, u % 24, u, tzinfo=UTC), 1)
        for u in range(20):
            _send(warehouse, org, f"m{u}", "api_calls", datetime(year, 6, 4, u % 24, u, tzinfo=UTC), 1)
        settler = api_settler(api, warehouse._open(), lambda: [org])
        settler.settle(after(year, 6), datetime.now(UTC))
        may = await _invoice(api, org, "ena", f"{year}-05")
        assert (_amounts(may), may["total"]) == ({"seats": "3000.00"}, "3000.00")

        late = datetime(year, 5, 20, 12, tzinfo=UTC)
        _send(warehouse, org, "m0", "premium_feature", late, 20, feature="deep_research")
        assert settler.settle(after(year, 6), datetime.now(UTC)).corrections == 1
        settler.settle(after(year, 7), datetime.now(UTC))
        june = await _invoice(api, org, "ena", f"{year}-06")
        assert _amounts(june) == {
            "seats": "1000.00",
            "correction:premium_feature:deep_research": "10.00",
            "commitment_true_up": "1500.00",
        }
        assert (june["total"], june["amount_due"]) == ("2510.00", 251_000)


async def test_enterprise_starting_mid_term_with_seats_an_addon_a_grant_running_out_and_tax(
    make_api: Callable[..., Any], warehouse: Warehouse, year: int
) -> None:
    """A German organization (VAT 19 %) subscribes to enterprise on May 16, anchored May 1 (period May 1 - June 1,
    31 days; contract year May 1 - May 1 of the next year, 365 days); an operator adds advanced analytics from May 16
    and grants $5,000 of credit.

    May: before May 16 the organization has no subscription: m0-m2's calls of May 10 are billed to themselves,
    not seats. Platform fee from May 16: 10,000 x 350/365 = 9,589.0410... → $9,589.04. Seats: the 105 users
    with usage billed to the organization (m0-m104, May 20) → 101-500 bracket, all at $40 = $4,200.00.
    Add-on: 2,000 x 16/31 = 1,032.2580... → $1,032.26. Charges 14,821.30; the grant pays $5,000.00 of them:
    subtotal $9,821.30; VAT 9,821.30 x 0.19 = 1,866.047 → $1,866.05; total $11,687.35 → amount_due 1,168,735,
    due 30 days after issue (enterprise: invoice, net 30).
    Paid by wire, then a credit note of $1,032.26 (the add-on): nothing is owed, so all of it is refunded:
    amount_due = amount_paid = 1,168,735 - 103,226 = 1,065,509, status paid, the document unchanged.
    June: no platform fee (once a contract year, at its start), 10 seats x $50 = $500.00, the add-on's whole
    month $2,000.00, the grant used up (pays nothing): subtotal $2,500.00, VAT $475.00, total $2,975.00."""
    async with make_api(now=datetime(year, 5, 16, tzinfo=UTC)) as api:
        address = {"line1": "Hauptstraße 5", "city": "Berlin", "postal_code": "10115", "country": "DE"}
        org = await api.org("ezra")
        owner = api.as_user("ezra", org)
        r = await api.client.patch(
            f"/api/billing/organizations/{org}", json={"billing_address": address}, headers=owner
        )
        assert r.status_code == 200, r.text
        r = await api.client.post(
            f"{BASE}/create", json={"tier": "enterprise", "anchor": f"{year}-05-01"}, headers=owner
        )
        assert r.status_code == 201, r.text
        sid, ops = r.json()["id"], api.as_operator()
        r = await api.client.post(f"{BASE}/{sid}/addons", json={"name": "advanced_analytics"}, headers=ops)
        assert r.status_code == 201, r.text
        r = await api.client.post(f"{BASE}/{sid}/credit-grants", json={"name": "Launch", "amount": "5000"}, headers=ops)
        assert r.status_code == 201, r.text
        gid = r.json()["id"]
        api.clock.now = datetime(year, 7, 10, 12, tzinfo=UTC)
        for u in range(3):
            _send(warehouse, org, f"m{u}", "api_calls", datetime(year, 5, 10, 9, u, tzinfo=UTC), 100)
        for u in range(105):
            _send(warehouse, org, f"m{u}", "api_calls", datetime(year, 5, 20, u % 24, u % 60, tzinfo=UTC), 1)
        for u in range(10):
            _send(warehouse, org, f"m{u}", "active_user", datetime(year, 6, 8, 9, u, tzinfo=UTC), 1)
        settler = _taxed_settler(api, warehouse, org)
        assert f"in_{org}_{year}-05" in settler.settle(after(year, 6), datetime.now(UTC)).finalized

        may = await _invoice(api, org, "ezra", f"{year}-05")
        got = {ln["code"]: (ln["quantity"], ln["unit_price"], ln["amount"]) for ln in may["lines"]}
        assert got == {
            "platform_fee": ("0.9589041095890410958904109589", "10000", "9589.04"),
            "seats": ("105", "40", "4200.00"),
            "addon:advanced_analytics": ("0.5161290322580645161290322581", "2000", "1032.26"),
            f"credit:{gid}": ("1", "-5000", "-5000.00"),
            "tax:0.19": ("9821.3", "0.19", "1866.05"),
        }
        assert (may["subtotal"], may["total"], may["amount_due"], may["status"]) == (
            "9821.30",
            "11687.35",
            1_168_735,
            "open",
        )
        assert date.fromisoformat(may["due_date"]) - datetime.fromisoformat(may["issued_at"]).date() == timedelta(30)
        text = pdf_text((await api.client.get(f"/api/billing/invoices/in_{org}_{year}-05.pdf", headers=owner)).content)
        for needle in ("$9,589.04", "$4,200.00", "$1,032.26", "-$5,000.00", "$9,821.30", "$1,866.05", "$11,687.35"):
            assert needle in text, needle

        inv = f"in_{org}_{year}-05"
        with api.ctx.sessions.begin() as s:  # a wire transfer of the whole invoice
            receivables.record_payment(s, inv, 1_168_735, "wire", api.clock(), source="operator", recorded_by="ops")
        body = {"amount": "1032.26", "reason": "product_unsatisfactory", "memo": "analytics not delivered"}
        r = await api.client.post(f"/api/billing/invoices/{inv}/credit-notes", json=body, headers=ops)
        assert r.status_code == 201, r.text
        assert (r.json()["amount"], r.json()["credited"], r.json()["refunded"]) == (103_226, 0, 103_226)
        may = await _invoice(api, org, "ezra", f"{year}-05")
        assert (may["status"], may["amount_due"], may["amount_paid"], may["amount_remaining"], may["total"]) == (
            "paid",
            1_065_509,
            1_065_509,
            0,
            "11687.35",
        )

        settler.settle(after(year, 7), datetime.now(UTC))
        june = await _invoice(api, org, "ezra", f"{year}-06")
        assert _amounts(june) == {"seats": "500.00", "addon:advanced_analytics": "2000.00", "tax:0.19": "475.00"}
        assert (june["subtotal"], june["total"], june["amount_due"]) == ("2500.00", "2975.00", 297_500)


async def test_a_late_event_lowering_a_paid_period_below_the_next_invoice_carries_the_rest_forward(
    make_api: Callable[..., Any], warehouse: Warehouse, year: int
) -> None:
    """Enterprise organization from May 1, contract platform fee $0 (seats only; volume: 1-100 at $50, 101-500
    at $40).

    May: 100 users → 100 x $50 = $5,000.00. Late: a 101st user's heartbeat dated May 20 → May would be
    101 x $40 = $4,040.00: June carries correction:seats -$960.00 (quantity +1).
    June: 10 users → $500.00; 500 - 960 = -$460.00: a final invoice never owes below zero, so $460.00 is
    carried forward (line carried_forward +$460.00): June's total $0.00, nothing due, paid at once.
    July (a draft so far): 10 users → $500.00, correction:carried_forward -$460.00 → total $40.00.
    (A final invoice of -$460.00 could not be opened at all: the collection loop's intake stopped on it.)"""
    async with make_api(now=datetime(year, 5, 1, tzinfo=UTC)) as api:
        org = await api.org("nia")
        r = await api.client.post(
            f"{BASE}/create", json={"tier": "enterprise", "anchor": f"{year}-05-01"}, headers=api.as_user("nia", org)
        )
        assert r.status_code == 201, r.text
        contract = {"contract": {"platform_fee": {"year": "0"}}}
        r = await api.client.put(f"{BASE}/{r.json()['id']}/contract", json=contract, headers=api.as_operator())
        assert r.status_code == 200, r.text
        api.clock.now = datetime(year, 7, 10, 12, tzinfo=UTC)
        for u in range(100):
            _send(warehouse, org, f"s{u}", "active_user", datetime(year, 5, 4, u % 24, u % 60, tzinfo=UTC), 1)
        for month in (6, 7):
            for u in range(10):
                _send(warehouse, org, f"s{u}", "active_user", datetime(year, month, 2, 9, u, tzinfo=UTC), 1)
        settler = api_settler(api, warehouse._open(), lambda: [org])
        settler.settle(after(year, 6), datetime.now(UTC))
        assert (await _invoice(api, org, "nia", f"{year}-05"))["total"] == "5000.00"

        _send(warehouse, org, "s100", "active_user", datetime(year, 5, 20, 12, tzinfo=UTC), 1)
        assert settler.settle(after(year, 6), datetime.now(UTC)).corrections == 1
        settler.settle(after(year, 7), datetime.now(UTC))
        june = await _invoice(api, org, "nia", f"{year}-06")
        got = {ln["code"]: (ln["quantity"], ln["amount"]) for ln in june["lines"]}
        assert got == {
            "seats": ("10", "500.00"),
            "correction:seats": ("1", "-960.00"),
            "carried_forward": ("1", "460.00"),
        }
        assert (june["total"], june["amount_due"], june["status"]) == ("0.00", 0, "paid")

        # July so far, as settlement has it (a draft).
        july = settler.document(org, period_of(org, settler.histories, f"{year}-07"))
        assert july is not None
        assert _amounts(july) == {"seats": "500.00", "correction:carried_forward": "-460.00"}
        assert july["total"] == "40.00"

        # A late heartbeat of an 11th June user: June would be 11 x $50 = $550 (+$50); the $460 carried stays
        # carried (not carried again): July $500 + $50 - $460 = $90.00, finalized. Over the three months:
        # 5,000 + 0 + 90 = $5,090 = 4,040 + 550 + 500.
        _send(warehouse, org, "s200", "active_user", datetime(year, 6, 20, 12, tzinfo=UTC), 1)
        assert settler.settle(after(year, 7), datetime.now(UTC)).corrections == 1
        api.clock.now = datetime(year, 8, 10, 12, tzinfo=UTC)
        settler.settle(after(year, 8), datetime.now(UTC))
        july = await _invoice(api, org, "nia", f"{year}-07")
        assert _amounts(july) == {
            "seats": "500.00",
            "correction:carried_forward": "-460.00",
            "correction:seats": "50.00",
        }
        assert (july["total"], july["amount_due"], july["status"]) == ("90.00", 9_000, "open")


async def test_a_downgrade_to_free_takes_effect_at_the_period_end_and_late_usage_of_before_still_bills(
    make_api: Callable[..., Any], warehouse: Warehouse, year: int
) -> None:
    """Standard monthly from May 1; on May 16 the owner moves to free: a downgrade takes effect at the period
    end (nothing credited), so May is standard throughout.

    May: 150,000 calls (May 3) and 20,000 more (May 25, still standard) → 70,000 over x $0.01 = $700.00 + $49.99
    = $749.99. June on free: no fee; 12,000 calls (June 5) → 2,000 over free's 10,000 hard cap: flagged, never
    billed. Late: 1,000 calls dated May 20 (standard's rule at their time, over its quota) → June carries
    correction:api_calls_overage $10.00: June's total $10.00 (free's cap does not apply to May's usage)."""
    async with make_api(now=datetime(year, 5, 1, tzinfo=UTC)) as api:
        org, sid = await _standard_org(api, "dan", year)
        api.clock.now = datetime(year, 5, 16, tzinfo=UTC)
        r = await api.client.put(f"{BASE}/{sid}", json={"tier": "free"}, headers=api.as_user("dan", org))
        assert r.status_code == 200, r.text
        api.clock.now = datetime(year, 7, 10, 12, tzinfo=UTC)
        _send(warehouse, org, "dan", "api_calls", datetime(year, 5, 3, 10, tzinfo=UTC), 150_000)
        _send(warehouse, org, "dan", "api_calls", datetime(year, 5, 25, 10, tzinfo=UTC), 20_000)
        _send(warehouse, org, "dan", "api_calls", datetime(year, 6, 5, 10, tzinfo=UTC), 12_000)
        settler = api_settler(api, warehouse._open(), lambda: [org])
        settler.settle(after(year, 6), datetime.now(UTC))
        may = await _invoice(api, org, "dan", f"{year}-05")
        assert (_amounts(may), may["total"]) == ({"base_fee": "49.99", "api_calls_overage": "700.00"}, "749.99")

        _send(warehouse, org, "dan", "api_calls", datetime(year, 5, 20, 12, tzinfo=UTC), 1_000)
        assert settler.settle(after(year, 6), datetime.now(UTC)).corrections == 1
        settler.settle(after(year, 7), datetime.now(UTC))
        june = await _invoice(api, org, "dan", f"{year}-06")
        assert (_amounts(june), june["total"], june["amount_due"]) == (
            {"correction:api_calls_overage": "10.00"},
            "10.00",
            1_000,
        )


async def test_a_credit_note_before_a_reissue_is_kept_by_the_reissue(
    make_api: Callable[..., Any], warehouse: Warehouse, year: int
) -> None:
    """The German organization's May of the first test: $149.50 + VAT $28.40 = $177.90, open, nothing paid.
    A credit note of $27.90 lowers what is owed: amount_due 17,790 - 2,790 = 15,000 (credited, nothing refunded).
    Reissued (voided and reissued at once): the reissue bills the same lines (total $177.90, VAT $28.40 on
    $149.50) for what the void one collected, 15,000; its PDF asks for $150.00; a wire of $150.00 pays it."""
    async with make_api(now=datetime(year, 5, 1, tzinfo=UTC)) as api:
        address = {"line1": "Hauptstraße 5", "city": "Berlin", "postal_code": "10115", "country": "DE"}
        org, _ = await _standard_org(api, "rea", year, billing_address=address)
        api.clock.now = datetime(year, 6, 10, 12, tzinfo=UTC)
        _send(warehouse, org, "rea", "api_calls", datetime(year, 5, 3, 9, tzinfo=UTC), 109_951)
        _taxed_settler(api, warehouse, org).settle(after(year, 6), datetime.now(UTC))
        inv, ops = f"in_{org}_{year}-05", api.as_operator()
        assert (await _invoice(api, org, "rea", f"{year}-05"))["amount_due"] == 17_790
        body = {"amount": "27.90", "reason": "order_change"}
        r = await api.client.post(f"/api/billing/invoices/{inv}/credit-notes", json=body, headers=ops)
        assert r.status_code == 201, r.text
        assert (r.json()["credited"], r.json()["refunded"]) == (2_790, 0)

        r = await api.client.post(f"/api/billing/invoices/{inv}/reissue", headers=ops)
        assert r.status_code == 201, r.text
        new = r.json()
        assert (new["invoice_id"], new["status"], new["total"], new["subtotal"]) == (
            f"{inv}-r1",
            "open",
            "177.90",
            "149.50",
        )
        assert (new["amount_due"], new["amount_paid"], new["amount_remaining"]) == (15_000, 0, 15_000)
        assert _amounts(new) == {"base_fee": "49.99", "api_calls_overage": "99.51", "tax:0.19": "28.40"}
        owner = api.as_user("rea", org)
        text = pdf_text((await api.client.get(f"/api/billing/invoices/{inv}-r1.pdf", headers=owner)).content)
        assert "$177.90" in text and "$150.00" in text
        with api.ctx.sessions.begin() as s:
            receivables.record_payment(
                s, f"{inv}-r1", 15_000, "wire", api.clock(), source="operator", recorded_by="ops"
            )
        paid = (await api.client.get(f"/api/billing/invoices/{inv}-r1", headers=owner)).json()
        assert (paid["status"], paid["amount_remaining"]) == ("paid", 0)
        old = (await api.client.get(f"/api/billing/invoices/{inv}", headers=owner)).json()
        assert (old["status"], old["reissued_as"], old["amount_due"]) == ("void", f"{inv}-r1", 15_000)
