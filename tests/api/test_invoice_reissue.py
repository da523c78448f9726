"""Reissuing a void invoice (docs/invoices.md, "Reissuing") on the real stack (chDB, the billing store): its own
id, number, warehouse document and PDF, linked both ways with the void one; once; operators only."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from schemas.ids import INVOICE_ID_PATTERN
from sinks.clickhouse.settlement.invoices import reissue_id
from streams.api.warehouse import Warehouse
from streams.cli.main import main
from streams.store import audit, receivables
from streams.store.models import NoticeRow
from tests.api.test_invoice_pdf_and_pay import MAY, _finalized_invoice
from tests.support.api import CH_DB
from tests.support.pdf import pdf_text

pytestmark = pytest.mark.integration


def test_reissue_ids_follow_the_one_pattern() -> None:
    import re

    assert reissue_id("in_acme_2026-05") == "in_acme_2026-05-r1"
    assert reissue_id("in_acme_2026-05-r1") == "in_acme_2026-05-r2"
    assert reissue_id("in_a-r1_2026-05") == "in_a-r1_2026-05-r1"  # an account id may end like a suffix
    for good in ("in_acme_2026-05", "in_acme_2026-05-r1", "in_acme_2026-05-r999", f"in_{'a' * 128}_2026-05-r12"):
        assert re.fullmatch(INVOICE_ID_PATTERN, good), good
    for bad in ("in_acme_2026-05-r0", "in_acme_2026-05-r1000", "in_acme_2026-05-r", "in_acme_2026-05-x1"):
        assert not re.fullmatch(INVOICE_ID_PATTERN, bad), bad
    with pytest.raises(ValueError, match="too often"):
        reissue_id("in_acme_2026-05-r999")


async def test_a_void_invoice_is_reissued_once_by_operators_only(
    make_api: Callable[..., Any], warehouse: Warehouse, tmp_path: Path
) -> None:
    async with make_api(now=MAY) as api:
        org, inv = await _finalized_invoice(api, warehouse, {"adm": "admin", "vic": "viewer"})
        new_id = f"{inv}-r1"
        url = f"/api/billing/invoices/{inv}/reissue"
        owner, ops = api.as_user("ivy", org), api.as_operator()
        first = (await api.client.get(f"/api/billing/invoices/{inv}", headers=owner)).json()
        assert (first["status"], first["reissued_as"], first["reissue_of"]) == ("open", None, None)

        # the attackers: another organization sees nothing; the organization's own admin, viewer and keys are
        # not the seller; a stolen reissue id of another account is not found either
        other = await api.org("zed", name="Other")
        assert (await api.client.post(url, headers=api.as_user("zed", other))).status_code == 404
        for who in (owner, api.as_user("adm", org), api.as_user("vic", org), await api.key(org, "ivy", "admin")):
            r = await api.client.post(url, headers=who)
            assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden"), r.text
        assert (await api.client.post(url)).status_code == 401
        assert (await api.client.post(f"/api/billing/invoices/in_{org}_2026-04/reissue", headers=ops)).status_code == (
            404
        )
        with api.ctx.sessions() as s:
            assert receivables.get(s, inv).status == "open" and receivables.reissued_as(s, inv) is None

        with api.ctx.sessions.begin() as s:  # the operator voids it (as `meterline invoice void` does)
            receivables.void(s, inv, api.clock())
        r = await api.client.post(url, headers=ops)
        assert r.status_code == 201, r.text
        new = r.json()
        assert (new["invoice_id"], new["reissue_of"], new["status"], new["total"]) == (new_id, inv, "open", "549.99")
        assert new["number"] != first["number"] and new["number"].startswith("ML-")
        assert (new["amount_due"], new["amount_remaining"], new["issued_at"]) == (
            54_999,
            54_999,
            "2026-06-10T12:00:00Z",
        )
        assert new["lines"] == first["lines"]
        again = await api.client.post(url, headers=ops)  # once: the same reissue, 200
        assert (again.status_code, again.json()["invoice_id"], again.json()["number"]) == (200, new_id, new["number"])

        old = (await api.client.get(f"/api/billing/invoices/{inv}", headers=owner)).json()
        assert (old["status"], old["reissued_as"], old["number"]) == ("void", new_id, first["number"])
        listed = (await api.client.get("/api/billing/invoices", headers=owner)).json()["invoices"]
        assert {(i["invoice_id"], i["status"]) for i in listed} == {(inv, "void"), (new_id, "open")}
        # its own document in the warehouse, apart from the settled invoices (counted once by revenue views)
        rows = warehouse.rows(
            f"SELECT reissue_of, total FROM {CH_DB}.invoice_reissues FINAL WHERE invoice_id = '{new_id}'"
        )
        assert [(a, str(b)) for a, b in rows] == [(inv, "549.99")]
        assert warehouse.rows(f"SELECT count() FROM {CH_DB}.invoices FINAL WHERE invoice_id = '{new_id}'") == [(0,)]
        # its own PDF: its number, no VOID mark; the void one keeps its number and is marked
        pdf = await api.client.get(f"/api/billing/invoices/{new_id}.pdf", headers=api.as_user("vic", org))
        assert pdf.status_code == 200
        text = pdf_text(pdf.content)
        assert new["number"] in text and new_id in text and "VOID" not in text and "549.99" in text
        assert f"Replaces {inv}" in text.replace("\n", " ")
        old_text = pdf_text((await api.client.get(f"/api/billing/invoices/{inv}.pdf", headers=owner)).content)
        assert first["number"] in old_text and "VOID" in old_text
        assert f"Reissued as {new_id}" in old_text.replace("\n", " ")
        assert (
            await api.client.get(f"/api/billing/invoices/{new_id}", headers=api.as_user("zed", other))
        ).status_code == (404)

        # told as a finalized invoice; audited; mirrored for analysts
        with api.ctx.sessions() as s:
            kinds = [n.key for n in s.scalars(select(NoticeRow).where(NoticeRow.account_id == org))]
            logged = audit.entries(s, org, audit.AuditFilter(action="invoice.reissued"))
        assert f"invoice_finalized:{new_id}" in kinds
        assert [(e.target, (e.after or {})["invoice_id"], e.actor) for e in logged] == [(inv, new_id, "operator:ops-1")]
        api.ctx.warehouse.mirror_receivables(api.ctx.sessions)
        mirrored = warehouse.rows(
            f"SELECT invoice_id, status FROM {CH_DB}.receivables FINAL WHERE invoice_id IN ('{inv}', '{new_id}') "
            "ORDER BY invoice_id"
        )
        assert mirrored == [(inv, "void"), (new_id, "open")]

        # a reissue with money on it is not reissued (refund first); a paid one neither
        with api.ctx.sessions.begin() as s:
            receivables.record_payment(s, new_id, 1_000, "wire", api.clock(), source="operator", recorded_by="ops")
        r = await api.client.post(f"/api/billing/invoices/{new_id}/reissue", headers=ops)
        assert (r.status_code, r.json()["error"]["code"]) == (409, "cannot_reissue")
        r = await api.client.get("/api/billing/payments?period=2026-05", headers=owner)  # the reissue's period too
        assert [p["invoice_id"] for p in r.json()["payments"]] == [new_id]
        r = await api.client.get(f"/api/billing/payments?invoice={new_id}", headers=owner)
        assert [p["amount"] for p in r.json()["payments"]] == [1_000]


async def test_the_cli_reissues_and_voids_an_open_invoice_with_nothing_paid(
    make_api: Callable[..., Any],
    warehouse: Warehouse,
    store_url: str,
    chdb_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with make_api(now=MAY) as api:
        org, inv = await _finalized_invoice(api, warehouse, {})
        monkeypatch.setenv("METERLINE_API_DATABASE_URL", store_url)
        monkeypatch.setenv("METERLINE_CLICKHOUSE_DATABASE", CH_DB)
        monkeypatch.setenv("METERLINE_CLICKHOUSE_DSN", f"chdb://{chdb_path}")  # the API's own warehouse
        capsys.readouterr()
        assert main(["invoice", "reissue", "--invoice", inv, "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert (out["invoice_id"], out["reissue_of"], out["status"], out["created"]) == (f"{inv}-r1", inv, "open", True)
        assert main(["invoice", "reissue", "--invoice", inv]) == 0
        assert f"{inv} was reissued as {inv}-r1" in capsys.readouterr().out
        assert main(["invoice", "reissue", "--invoice", f"in_{org}_2026-01"]) == 2
        assert "no finalized invoice" in capsys.readouterr().err
        with api.ctx.sessions() as s:
            assert receivables.get(s, inv).status == "void"
            assert [h.reason for h in receivables.history(s, inv)][-1] == "reissued"
        doc = (await api.client.get(f"/api/billing/invoices/{inv}-r1", headers=api.as_user("ivy", org))).json()
        assert (doc["reissue_of"], doc["number"]) == (inv, out["number"])
        # the reissue reissued in turn (open, nothing paid): -r2, from the first id, linked to -r1
        assert main(["invoice", "reissue", "--invoice", f"{inv}-r1", "--json"]) == 0
        again = json.loads(capsys.readouterr().out)
        assert (again["invoice_id"], again["reissue_of"], again["created"]) == (f"{inv}-r2", f"{inv}-r1", True)
        assert again["number"] not in (out["number"], doc["number"])
        chain = (await api.client.get("/api/billing/invoices", headers=api.as_user("ivy", org))).json()["invoices"]
        assert sorted((i["invoice_id"], i["status"], i["reissued_as"]) for i in chain) == [
            (inv, "void", f"{inv}-r1"),
            (f"{inv}-r1", "void", f"{inv}-r2"),
            (f"{inv}-r2", "open", None),
        ]


async def test_two_operators_reissuing_at_once_make_one_reissue(
    make_api: Callable[..., Any], warehouse: Warehouse
) -> None:
    import threading

    from streams.api.reissue import reissue_invoice
    from streams.store.audit import Origin

    async with make_api(now=MAY) as api:
        org, inv = await _finalized_invoice(api, warehouse, {})
        # opened (read once), then voided: what an operator reissues
        assert (
            await api.client.get(f"/api/billing/invoices/{inv}", headers=api.as_user("ivy", org))
        ).status_code == 200
        with api.ctx.sessions.begin() as s:
            receivables.void(s, inv, api.clock())
        results: list[tuple[str, bool]] = []
        errors: list[BaseException] = []
        start = threading.Barrier(2)

        def reissue(by: str) -> None:
            start.wait(10)
            try:
                row, created = reissue_invoice(
                    api.ctx.sessions, warehouse, api.ctx.catalog, inv, api.clock(), Origin(f"operator:{by}")
                )
                results.append((row.invoice_id, created))
            except BaseException as exc:  # kept to fail the test with it
                errors.append(exc)

        threads = [threading.Thread(target=reissue, args=(by,)) for by in ("a", "b")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []
        assert sorted(results) == [(f"{inv}-r1", False), (f"{inv}-r1", True)]
        with api.ctx.sessions() as s:
            assert [h.reason for h in receivables.history(s, inv)].count("reissued") == 1
