"""``GET /api/billing/forecast``: the current period's invoice forecast from settled data (real chDB),
priced like the invoice; readable only by whoever reads the account's invoices."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from streams.api.warehouse import Warehouse
from tests.support.api import CH_DB
from tests.support.settled import api_settler, event_block

pytestmark = pytest.mark.integration


async def test_a_flat_account_is_forecast_to_its_invoice_and_strangers_are_refused(
    make_api: Callable[..., Any], warehouse: Warehouse
) -> None:
    async with make_api(now=datetime(2026, 5, 1, tzinfo=UTC)) as api:
        org = await api.org("fern", members={"m1": "member"})
        other = await api.org("otto")
        owner = api.as_user("fern", org)
        r = await api.client.post(
            "/api/billing/subscriptions/create", json={"tier": "standard", "anchor": "2026-05-01"}, headers=owner
        )
        assert r.status_code == 201, r.text
        # 5,000 calls every day from May 1 to June 15: June (30 days) ends at 150,000 calls,
        # 50,000 over the included 100,000 at $0.01 = $500 + the $49.99 base fee.
        day, block = datetime(2026, 5, 1, 10, tzinfo=UTC), b""
        while day < datetime(2026, 6, 16, tzinfo=UTC):
            block += event_block(org, "fern", org, "api_calls", day, [5000], id_prefix=f"{org}-fc")
            day += timedelta(days=1)
        client = warehouse._open()
        client.raw_insert(f"{CH_DB}.events", None, insert_block=block, fmt="JSONEachRow")
        api_settler(api, client, lambda: [org]).settle(datetime(2026, 6, 16, tzinfo=UTC), datetime.now(UTC))
        api.clock.now = datetime(2026, 6, 16, tzinfo=UTC)  # the watermark: whole days (the warehouse is shared)

        r = await api.client.get(f"/api/billing/forecast?account={org}", headers=owner)
        assert r.status_code == 200, r.text
        doc = r.json()
        assert (doc["period_start"], doc["days_elapsed"], doc["days_in_period"]) == ("2026-06-01T00:00:00Z", 15, 30)
        total = doc["total"]
        assert (total["to_date"], total["expected"]) == ("49.99", "549.99")
        assert Decimal(total["p10"]) < Decimal("549.99") < Decimal(total["p90"])
        (calls,) = doc["metrics"]
        assert (calls["metric"], calls["to_date"], calls["expected"]) == ("api_calls", "75000", "150000")
        assert calls["daily"] == ["5000"] * 15
        assert {ln["code"]: ln["amount"] for ln in doc["lines"]} == {"base_fee": "49.99", "api_calls_overage": "500.00"}

        # An account on standard without any usage yet: the tier's typical day (the median of the standard
        # accounts that used it in the last 28 days) for each remaining day, with a wide interval.
        new = await api.org("nova")
        r = await api.client.post(
            "/api/billing/subscriptions/create",
            json={"tier": "standard", "anchor": "2026-06-01"},
            headers=api.as_user("nova", new),
        )
        assert r.status_code == 201, r.text
        r = await api.client.get(f"/api/billing/forecast?account={new}", headers=api.as_user("nova", new))
        assert r.status_code == 200, r.text
        (typical,) = r.json()["metrics"]
        assert (typical["metric"], typical["to_date"], typical["daily"]) == ("api_calls", "0", [])
        expected, p10, p90 = (Decimal(typical[k]) for k in ("expected", "p10", "p90"))
        assert expected > 0 and p90 - p10 > expected  # a relative sd of 50 %: 1.28 x expected wide

        # Another organization's owner, a member without the invoice role, and a made-up account.
        for who, account in [(api.as_user("otto", other), org), (api.as_user("m1", org), org)]:
            r = await api.client.get(f"/api/billing/forecast?account={account}", headers=who)
            assert r.status_code in (403, 404), r.text
        r = await api.client.get("/api/billing/forecast?account=org_doesnotexist", headers=owner)
        assert r.status_code in (403, 404)
        r = await api.client.get(f"/api/billing/forecast?account={org}")
        assert r.status_code == 401


async def test_a_premium_feature_is_forecast_from_the_api_calls(
    make_api: Callable[..., Any], warehouse: Warehouse
) -> None:
    """The product's forecast uses the backtested method (docs/forecasting.md, third round): a premium
    feature's remaining uses are its uses per API call times the calls' remaining forecast."""
    async with make_api(now=datetime(2026, 5, 1, tzinfo=UTC)) as api:
        org = await api.org("pia")
        owner = api.as_user("pia", org)
        r = await api.client.post(
            "/api/billing/subscriptions/create", json={"tier": "standard", "anchor": "2026-05-01"}, headers=owner
        )
        assert r.status_code == 201, r.text
        # May 1 to June 15: 5,000 calls every day; 70 deep_research uses on weekdays only (32 weekdays).
        day, block = datetime(2026, 5, 1, 10, tzinfo=UTC), b""
        while day < datetime(2026, 6, 16, tzinfo=UTC):
            block += event_block(org, "pia", org, "api_calls", day, [5000], id_prefix=f"{org}-c")
            if day.weekday() < 5:
                props = {"feature": "deep_research"}
                block += event_block(
                    org, "pia", org, "premium_feature", day, [70], id_prefix=f"{org}-p", properties=props
                )
            day += timedelta(days=1)
        client = warehouse._open()
        client.raw_insert(f"{CH_DB}.events", None, insert_block=block, fmt="JSONEachRow")
        api_settler(api, client, lambda: [org]).settle(datetime(2026, 6, 16, tzinfo=UTC), datetime.now(UTC))
        api.clock.now = datetime(2026, 6, 16, tzinfo=UTC)  # the watermark: whole days (the warehouse is shared)

        r = await api.client.get(f"/api/billing/forecast?account={org}", headers=owner)
        assert r.status_code == 200, r.text
        metrics = {m["metric"]: m for m in r.json()["metrics"]}
        calls = metrics["api_calls"]
        assert (calls["to_date"], calls["expected"]) == ("75000", "150000")
        (premium,) = [m for k, m in metrics.items() if k != "api_calls"]
        # June 1-15 held 11 weekdays: 770 uses. Uses per call over the window: 32 x 70 / (46 x 5,000); times
        # the 75,000 calls still to come = 730.43 more (its own weekday rhythm would have said 11 x 70 = 770).
        assert (premium["to_date"], premium["expected"]) == ("770", "1500.43")


async def test_budgets_are_set_by_billing_managers_and_read_by_invoice_readers(make_api: Callable[..., Any]) -> None:
    async with make_api(now=datetime(2026, 5, 1, tzinfo=UTC)) as api:
        org = await api.org("bea", members={"m2": "member"})
        other = await api.org("oz")
        owner, url = api.as_user("bea", org), f"/api/billing/budgets?account={org}"
        assert (await api.client.get(url, headers=owner)).json() == {
            "account_id": org,
            "amount": None,
            "currency": "usd",
        }
        r = await api.client.put(url, json={"amount": "300"}, headers=owner)
        assert r.status_code == 200, r.text
        assert (await api.client.get(url, headers=owner)).json()["amount"] == "300.00"
        for bad in ({"amount": "-1"}, {"amount": 1.5}, {"amount": "300", "extra": 1}, {}):
            assert (await api.client.put(url, json=bad, headers=owner)).status_code == 422, bad
        member, stranger = api.as_user("m2", org), api.as_user("oz", other)
        assert (await api.client.put(url, json={"amount": "1"}, headers=member)).status_code == 403
        assert (await api.client.put(url, json={"amount": "1"}, headers=stranger)).status_code in (403, 404)
        assert (await api.client.get(url, headers=stranger)).status_code in (403, 404)
        assert (await api.client.get(url, headers=owner)).json()["amount"] == "300.00"
        assert (await api.client.put(url, json={"amount": "0"}, headers=owner)).json()["amount"] is None
        # Each change is in the organization's audit log, with the amount before and after; refusals are not.
        log = await api.client.get(f"/api/billing/organizations/{org}/audit?action=budget.", headers=owner)
        assert [(e["actor"], e["before"], e["after"]) for e in reversed(log.json()["entries"])] == [
            ("user:bea", {"amount": None}, {"amount": "300.00"}),
            ("user:bea", {"amount": "300.00"}, {"amount": None}),
        ]
