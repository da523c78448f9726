"""Add-ons over HTTP (issue 15, item 3): platform operators record them (one-time, recurring, hourly with
hours logged), owners and admins read them, members, viewers, other organizations and API keys cannot; the
upcoming invoice bills them as ``addon:<name>`` lines at the contract's price, else the catalog's."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from streams.cli.main import main

pytestmark = pytest.mark.integration
NOW = datetime(2026, 6, 10, 12, tzinfo=UTC)
BASE = "/api/billing/subscriptions"


async def test_operators_record_admins_read_nobody_else(make_api: Callable[..., Any]) -> None:
    async with make_api(now=NOW) as api:
        org = await api.org("olga", members={"ada": "admin", "mel": "member", "vic": "viewer"})
        other = await api.org("eve", name="Other")
        owner = api.as_user("olga", org)
        r = await api.client.post(f"{BASE}/create", json={"tier": "enterprise"}, headers=owner)
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
        r = await api.client.post(f"{BASE}/create", json={"tier": "enterprise"}, headers=api.as_user("eve", other))
        other_sid = r.json()["id"]
        url = f"{BASE}/{sid}/addons"
        body = {"name": "advanced_analytics"}

        admin_key = await api.key(org, "olga", "admin")
        outsiders = [
            (owner, 403),
            (api.as_user("ada", org), 403),
            (admin_key, 403),
            (api.as_user("mel", org), 403),
            (api.as_user("vic", org), 403),
            (api.as_user("eve", other), 404),
            (await api.key(other, "eve", "admin"), 404),
            (api.as_operator(claim="true"), 404),  # only the JSON true makes an operator
        ]
        for headers, status in outsiders:
            r = await api.client.post(url, json=body, headers=headers)
            assert r.status_code == status, (headers, r.text)
        r = await api.client.post(url, json=body, headers=api.as_operator())
        assert r.status_code == 201, r.text
        recurring = r.json()
        assert (recurring["kind"], recurring["quantity"], recurring["unit_price"]) == ("recurring", "1", "2000")
        assert recurring["starts_at"] == "2026-06-10T12:00:00Z" and recurring["created_by"] == "operator:ops-1"
        r = await api.client.post(url, json={"name": "custom_development"}, headers=api.as_operator())
        hourly = r.json()

        # Ending and logging hours are the operator's too.
        end = {"ends_at": "2026-08-01T00:00:00Z"}
        hours = {"worked_on": "2026-06-12", "hours": "2.5", "note": "SSO integration"}
        for headers, status in outsiders:
            r = await api.client.post(f"{url}/{recurring['id']}/end", json=end, headers=headers)
            assert r.status_code == status, (headers, r.text)
            r = await api.client.post(f"{url}/{hourly['id']}/hours", json=hours, headers=headers)
            assert r.status_code == status, (headers, r.text)
        # A stolen add-on id under another subscription is not found, even for the operator.
        r = await api.client.post(
            f"{BASE}/{other_sid}/addons/{hourly['id']}/hours", json=hours, headers=api.as_operator()
        )
        assert r.status_code == 404, r.text
        r = await api.client.post(f"{url}/{hourly['id']}/hours", json=hours, headers=api.as_operator())
        assert r.status_code == 201, r.text
        assert r.json()["hours"] == [
            {"worked_on": "2026-06-12", "hours": "2.5", "note": "SSO integration", "created_by": "operator:ops-1"}
        ]

        for headers, status in [
            (owner, 200),
            (api.as_user("ada", org), 200),
            (admin_key, 200),
            (api.as_operator(), 200),
            (api.as_user("mel", org), 403),
            (api.as_user("vic", org), 403),
            (api.as_user("eve", other), 404),
            (api.as_user("eve"), 404),
        ]:
            r = await api.client.get(url, headers=headers)
            assert r.status_code == status, (headers, r.text)
            if status == 200:
                assert [(a["name"], a["kind"]) for a in r.json()["data"]] == [
                    ("advanced_analytics", "recurring"),
                    ("custom_development", "hourly"),
                ]
        r = await api.client.get(f"{BASE}/{other_sid}/addons", headers=api.as_operator())
        assert r.json()["data"] == []


async def test_bad_records_are_refused_with_their_reason(make_api: Callable[..., Any]) -> None:
    async with make_api(now=NOW) as api:
        org = await api.org("olga")
        r = await api.client.post(f"{BASE}/create", json={"tier": "enterprise"}, headers=api.as_user("olga", org))
        url = f"{BASE}/{r.json()['id']}/addons"
        ops = api.as_operator()
        for bad, reason in [
            ({"name": "gold_plating"}, "not an add-on of the catalog"),
            ({"name": "advanced_analytics", "quantity": "2"}, "recorded once"),
            ({"name": "white_label_setup", "quantity": "0"}, "above 0"),
            ({"name": "white_label_setup", "quantity": 1.5}, "never as floats"),
            ({"name": "white_label_setup", "ends_at": "2026-07-01T00:00:00Z"}, "only a recurring add-on ends"),
            ({"name": "advanced_analytics", "starts_at": "2026-06-01T00:00:00Z"}, "before the current period"),
            ({"name": "advanced_analytics", "starts_at": "2026-06-20T00:00:00"}, "UTC offset"),
            (
                {"name": "advanced_analytics", "starts_at": "2026-06-20T00:00:00Z", "ends_at": "2026-06-19T00:00:00Z"},
                "after starts_at",
            ),
        ]:
            r = await api.client.post(url, json=bad, headers=ops)
            assert r.status_code == 422 and reason in r.text, (bad, r.text)
        one_time = (await api.client.post(url, json={"name": "white_label_setup"}, headers=ops)).json()
        hours = {"worked_on": "2026-06-12", "hours": "1", "note": "x"}
        r = await api.client.post(f"{url}/{one_time['id']}/hours", json=hours, headers=ops)
        assert r.status_code == 422 and "hourly add-ons only" in r.text
        r = await api.client.post(f"{url}/{one_time['id']}/end", json={"ends_at": "2026-07-01T00:00:00Z"}, headers=ops)
        assert r.status_code == 422 and "only a recurring add-on ends" in r.text
        hourly = (await api.client.post(url, json={"name": "custom_development"}, headers=ops)).json()
        for bad in [{**hours, "hours": "0"}, {**hours, "hours": "745"}, {**hours, "worked_on": "2026-06-09"}]:
            r = await api.client.post(f"{url}/{hourly['id']}/hours", json=bad, headers=ops)
            assert r.status_code == 422, (bad, r.text)
        r = await api.client.get(url, headers=ops)
        assert [(a["name"], a["hours"]) for a in r.json()["data"]] == [
            ("custom_development", []),
            ("white_label_setup", []),
        ]


async def test_upcoming_invoice_bills_addons(make_api: Callable[..., Any]) -> None:
    """Hand-worked: period 2026-06-10 .. 2026-07-10 (30 days). Advanced analytics from 06-25 12:00 at the
    contract's $1,500/month: 14.5 of 30 days = $725.00. Two training sessions at $5,000 = $10,000. Hours
    2.5 + 4 at $150 = $975.00 (a day in the next period is not billed now)."""
    async with make_api(now=NOW) as api:
        org = await api.org("olga")
        owner = api.as_user("olga", org)
        r = await api.client.post(f"{BASE}/create", json={"tier": "enterprise"}, headers=owner)
        sid = r.json()["id"]
        ops = api.as_operator()
        contract = {"contract": {"addons": {"advanced_analytics": "1500"}}}
        assert (await api.client.put(f"{BASE}/{sid}/contract", json=contract, headers=ops)).status_code == 200
        url = f"{BASE}/{sid}/addons"
        start = (NOW + timedelta(days=15)).isoformat()
        r = await api.client.post(url, json={"name": "advanced_analytics", "starts_at": start}, headers=ops)
        assert r.json()["unit_price"] == "1500"
        r = await api.client.post(url, json={"name": "custom_ai_training", "quantity": "2"}, headers=ops)
        assert r.status_code == 201, r.text
        hourly = (await api.client.post(url, json={"name": "custom_development"}, headers=ops)).json()
        for day, h in [("2026-06-10", "2.5"), ("2026-07-09", "4"), ("2026-07-10", "8")]:
            r = await api.client.post(
                f"{url}/{hourly['id']}/hours", json={"worked_on": day, "hours": h, "note": "work"}, headers=ops
            )
            assert r.status_code == 201, r.text

        r = await api.client.get(f"/api/billing/invoices/upcoming?account={org}", headers=owner)
        assert r.status_code == 200, r.text
        lines = {
            ln["code"]: (ln["quantity"], ln["amount"]) for ln in r.json()["lines"] if ln["code"].startswith("addon:")
        }
        assert {k: v[1] for k, v in lines.items()} == {
            "addon:advanced_analytics": "725.00",
            "addon:custom_ai_training": "10000.00",
            "addon:custom_development": "975.00",
        }


async def test_the_cli_records_through_the_same_store(
    make_api: Callable[..., Any],
    store_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with make_api(now=NOW) as api:
        org = await api.org("olga")
        owner = api.as_user("olga", org)
        sid = (await api.client.post(f"{BASE}/create", json={"tier": "enterprise"}, headers=owner)).json()["id"]
        monkeypatch.setenv("METERLINE_API_DATABASE_URL", store_url)
        assert main(["contracts", "addon-add", "--subscription", sid, "--name", "gold_plating"]) == 2
        assert "not an add-on of the catalog" in capsys.readouterr().err
        assert main(["contracts", "addon-add", "--subscription", sid, "--name", "white_label_setup"]) == 0
        added = orjson.loads(capsys.readouterr().out)
        hours = ["--on", "2030-01-02", "--hours", "2", "--note", "x"]
        assert main(["contracts", "addon-hours", "--subscription", sid, "--addon", added["id"], *hours]) == 2
        assert "hourly add-ons only" in capsys.readouterr().err
        grant = ["--name", "Prepaid", "--amount", "100.00", "--priority", "2"]
        assert main(["contracts", "credit-grant", "--subscription", sid, *grant]) == 0
        capsys.readouterr()
        # The API reads what the CLI wrote.
        listed = (await api.client.get(f"{BASE}/{sid}/addons", headers=owner)).json()["data"]
        assert [(a["id"], a["name"], a["created_by"]) for a in listed] == [
            (added["id"], "white_label_setup", "operator:cli")
        ]
        assert main(["contracts", "credits", "--subscription", sid]) == 0
        assert [(g["name"], g["amount"], g["priority"]) for g in orjson.loads(capsys.readouterr().out)] == [
            ("Prepaid", "100.00", 2)
        ]
