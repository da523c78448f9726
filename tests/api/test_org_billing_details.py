"""An organization's billing details (billing address, tax id, billing email; docs/invoices.md): written by its
owners and admins, read by every member, invisible to other organizations, and printed on its invoice PDFs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.cli.main import main
from tests.support.api import Api

NOW = datetime(2026, 5, 1, tzinfo=UTC)
ADDRESS = {"line1": "Hauptstraße 5", "line2": "3. OG", "city": "Berlin", "postal_code": "10115", "country": "DE"}


async def _org(api: Api) -> str:
    org = await api.org("olga", name="Acme GmbH", members={"adm": "admin", "vic": "viewer", "mo": "member"})
    return org


async def test_owners_and_admins_write_members_and_viewers_read(make_api: Callable[..., Any]) -> None:
    async with make_api(now=NOW) as api:
        org = await _org(api)
        url = f"/api/billing/organizations/{org}"
        r = await api.client.patch(
            url, json={"billing_address": ADDRESS, "tax_id": "DE123456789"}, headers=api.as_user("olga", org)
        )
        assert r.status_code == 200, r.text
        assert r.json()["billing_address"] == {**ADDRESS, "region": None} and r.json()["tax_id"] == "DE123456789"
        r = await api.client.patch(url, json={"billing_email": "ap@acme.test"}, headers=api.as_user("adm", org))
        assert r.status_code == 200 and r.json()["tax_id"] == "DE123456789"  # untouched fields stay
        for reader in ("vic", "mo"):
            r = await api.client.get(url, headers=api.as_user(reader, org))
            assert r.status_code == 200, r.text
            body = r.json()
            assert (body["billing_address"]["city"], body["tax_id"], body["billing_email"]) == (
                "Berlin",
                "DE123456789",
                "ap@acme.test",
            )
            r = await api.client.patch(url, json={"tax_id": "XX1"}, headers=api.as_user(reader, org))
            assert r.status_code == 403, r.text
        viewer_key = await api.key(org, "olga", "viewer")
        assert (await api.client.patch(url, json={"tax_id": "XX1"}, headers=viewer_key)).status_code == 403
        # null clears
        r = await api.client.patch(url, json={"billing_address": None}, headers=api.as_user("adm", org))
        assert r.status_code == 200 and r.json()["billing_address"] is None
        r = await api.client.get(url, headers=api.as_user("olga", org))
        assert r.json()["billing_address"] is None and r.json()["tax_id"] == "DE123456789"


async def test_other_organizations_and_bad_input(make_api: Callable[..., Any]) -> None:
    async with make_api(now=NOW) as api:
        org = await _org(api)
        url = f"/api/billing/organizations/{org}"
        await api.client.patch(url, json={"tax_id": "DE123456789"}, headers=api.as_user("olga", org))
        other = await api.org("zed", name="Other")
        for h in (api.as_user("zed", other), api.as_user("zed"), await api.key(other, "zed", "admin")):
            for r in (
                await api.client.get(url, headers=h),
                await api.client.patch(url, json={"tax_id": "EVIL"}, headers=h),
            ):
                assert r.status_code == 404, r.text
                assert "DE123456789" not in r.text
        assert (await api.client.patch(url, json={"tax_id": "EVIL"})).status_code == 401
        owner = api.as_user("olga", org)
        for bad in (
            {"billing_address": {**ADDRESS, "country": "Germany"}},
            {"billing_address": {"line1": "x", "country": "DE"}},  # no city
            {"tax_id": "<script>"},
            {"tax_id": "x" * 65},
        ):
            r = await api.client.patch(url, json=bad, headers=owner)
            assert r.status_code in (400, 422), (bad, r.text)
        r = await api.client.get(url, headers=owner)
        assert r.json()["tax_id"] == "DE123456789"
        # created with its details
        r = await api.client.post(
            "/api/billing/organizations",
            json={"name": "New Co", "billing_address": {**ADDRESS, "region": "BE"}, "tax_id": "DE999"},
            headers=api.as_user("nina"),
        )
        assert r.status_code == 201, r.text
        assert r.json()["billing_address"]["region"] == "BE" and r.json()["tax_id"] == "DE999"


async def test_an_operator_sets_them_from_the_command_line(
    make_api: Callable[..., Any],
    store_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("METERLINE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("METERLINE_API_DATABASE_URL", store_url)
    async with make_api(now=NOW) as api:
        org = await _org(api)
        capsys.readouterr()
        args = ["api", "billing-details", "--org", org, "--tax-id", "DE123456789", "--line1", "Hauptstraße 5"]
        assert main([*args, "--city", "Berlin", "--country", "DE", "--json"]) == 0
        out = orjson.loads(capsys.readouterr().out)
        assert (out["tax_id"], out["billing_address"]["city"]) == ("DE123456789", "Berlin")
        r = await api.client.get(f"/api/billing/organizations/{org}", headers=api.as_user("vic", org))
        assert r.json()["billing_address"]["line1"] == "Hauptstraße 5" and r.json()["tax_id"] == "DE123456789"
        # the API's rules: an address without a city, a country name, an unknown organization
        assert main(["api", "billing-details", "--org", org, "--line1", "x", "--country", "DE"]) == 2
        assert (
            main(["api", "billing-details", "--org", org, "--line1", "x", "--city", "y", "--country", "Germany"]) == 2
        )
        assert main(["api", "billing-details", "--org", "org_nope", "--tax-id", "X1"]) == 2
        assert "no organization org_nope" in capsys.readouterr().err
        r = await api.client.get(f"/api/billing/organizations/{org}", headers=api.as_user("olga", org))
        assert r.json()["billing_address"]["city"] == "Berlin"
