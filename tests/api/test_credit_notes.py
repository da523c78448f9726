"""Credit notes on SQLite and PostgreSQL: a correction after finalization is a numbered credit note, never an
edit (the invoice's lines and total stay; what it owes goes down), platform operators issue them, the
invoice's readers list them, and their numbers are gapless per seller under concurrency
(docs/invoices.md, "Credit notes")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from rating.receivables import PaymentTerms
from streams.api.warehouse import Warehouse
from streams.store import credit_notes
from streams.store import receivables as rcv
from streams.store.db import sessions
from tests.api.test_contracts_api import operator
from tests.api.test_invoice_pdf_and_pay import MAY, _finalized_invoice
from tests.api.test_receivables_store import NOW, race


async def test_a_correction_after_finalization_is_a_credit_note_not_an_edit(
    make_api: Callable[..., Any], warehouse: Warehouse
) -> None:
    async with make_api(now=MAY) as api:
        org, inv = await _finalized_invoice(api, warehouse, {"adm": "admin", "vic": "viewer", "mo": "member"})
        owner = api.as_user("ivy", org)
        before = (await api.client.get(f"/api/billing/invoices/{inv}", headers=owner)).json()
        assert (before["status"], before["amount_due"], before["total"]) == ("open", 54_999, "549.99")
        url = f"/api/billing/invoices/{inv}/credit-notes"
        body = {"amount": 10_000, "reason": "correction", "memo": "100 calls counted twice"}

        # Only the seller's operators credit an invoice: not its owner, admin or their keys; others see nothing.
        other = await api.org("zed", name="Other")
        for who, status in [
            (owner, 403),
            (api.as_user("adm", org), 403),
            (await api.key(org, "ivy", "admin"), 403),
            (api.as_user("mo", org), 403),
            (api.as_user("zed", other), 404),
            (api.as_user("ivy"), 403),  # the owner's own token reads the invoice; no owner credits it
        ]:
            r = await api.client.post(url, json=body, headers=who)
            assert r.status_code == status, (who, r.text)
        r = await api.client.post(url.replace(inv, f"in_{org}_2026-01"), json=body, headers=operator(api))
        assert r.status_code == 404

        r = await api.client.post(url, json=body, headers=operator(api))
        assert r.status_code == 201, r.text
        first = r.json()
        assert first["number"].startswith("ML-CN-")
        assert (first["kind"], first["amount"], first["memo"]) == ("pre_payment", 10_000, "100 calls counted twice")
        after = (await api.client.get(f"/api/billing/invoices/{inv}", headers=owner)).json()
        assert after["lines"] == before["lines"] and after["total"] == before["total"]  # not an edit
        assert after["number"] == before["number"]
        assert (after["status"], after["amount_due"], after["amount_remaining"]) == ("open", 44_999, 44_999)

        # More than remains is refused and takes no number; the rest settles it; then it is owed back, at most
        # what was paid.
        r = await api.client.post(url, json={"amount": 45_000}, headers=operator(api))
        assert (r.status_code, r.json()["error"]["code"]) == (409, "not_creditable")
        r = await api.client.post(url, json={"amount": 44_999, "reason": "order_change"}, headers=operator(api))
        second = r.json()
        assert int(second["number"][-6:]) == int(first["number"][-6:]) + 1  # the refused one took no number
        paid = (await api.client.get(f"/api/billing/invoices/{inv}", headers=owner)).json()
        assert (paid["status"], paid["amount_due"], paid["amount_remaining"]) == ("paid", 0, 0)
        r = await api.client.post(url, json={"amount": 1}, headers=operator(api))
        assert r.status_code == 409  # nothing was paid, so nothing is owed back

        for who in (owner, api.as_user("adm", org), api.as_user("vic", org), operator(api)):
            r = await api.client.get(url, headers=who)
            assert r.status_code == 200, r.text
            assert [(c["number"], c["amount"]) for c in r.json()["credit_notes"]] == [
                (first["number"], 10_000),
                (second["number"], 44_999),
            ]
        assert (await api.client.get(url, headers=api.as_user("mo", org))).status_code == 403
        assert (await api.client.get(url, headers=api.as_user("zed", other))).status_code == 404
        with api.ctx.sessions() as s:
            reasons = [h.reason for h in rcv.history(s, inv)]
        assert reasons[-2:] == [f"credit_note:{first['number']}", f"credit_note:{second['number']}"]


def test_a_paid_invoice_is_credited_up_to_what_was_paid(engine: Engine) -> None:
    make = sessions(engine)
    with make.begin() as s:
        rcv.finalize(s, "inv_paid", "acct", 1_000, "usd", PaymentTerms(), NOW)
        rcv.pay(s, "inv_paid", 1_000, NOW)
        note = credit_notes.issue(s, "inv_paid", 600, "product_unsatisfactory", NOW, created_by="operator:ops")
        assert note.kind == "post_payment"
        assert rcv.state(rcv.get(s, "inv_paid")).status == "paid"
    with make.begin() as s:
        try:
            credit_notes.issue(s, "inv_paid", 401, "duplicate", NOW, created_by="operator:ops")
        except ValueError as exc:
            assert "400" in str(exc)
        else:
            raise AssertionError("credited more than was paid")


def test_concurrent_credit_notes_take_gapless_unique_numbers(engine: Engine) -> None:
    make = sessions(engine)
    with make.begin() as s:
        for i in range(6):
            rcv.finalize(s, f"inv_cn{i}", f"acct_{i}", 1_000, "usd", PaymentTerms("send_invoice", 30), NOW)

    def issue(i: int) -> None:
        with make.begin() as s:
            credit_notes.issue(s, f"inv_cn{i}", 100, "correction", NOW, created_by="operator:ops")

    assert race(6, issue) == []
    with make() as s:
        numbers = sorted(n.number for i in range(6) for n in credit_notes.of_invoice(s, f"inv_cn{i}"))
        invoice_numbers = sorted(rcv.get(s, f"inv_cn{i}").number for i in range(6))
    assert numbers == [f"ML-CN-{n:06d}" for n in range(1, 7)]
    assert invoice_numbers == [f"ML-{n:06d}" for n in range(1, 7)]  # credit notes take no invoice number
