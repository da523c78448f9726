"""A credit note's own PDF and email, and its refund paid out (docs/invoices.md, "Refunds") on the real stack:
through Stripe Refunds (stripe-mock) when Stripe collected the invoice, keyed by the credit note, a failure kept
with its reason and retried by the collection loop; owed to the customer after a wire transfer until an operator
records the refund. Attackers: another organization, the organization's own admins, a viewer."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from deploy.local.smtp import SmtpSink, messages
from streams.api.notice_attachments import invoice_pdf_attachments
from streams.api.warehouse import Warehouse
from streams.cli.main import main
from streams.notify.email import SmtpSettings
from streams.notify.relays import EmailRelay
from streams.store import audit, receivables
from streams.store.models import CreditNoteRow, NoticeRow, StripeCustomer
from tests.api.test_invoice_pdf_and_pay import MAY, _finalized_invoice
from tests.support.api import Api
from tests.support.pdf import first_page_png, pdf_text
from tests.support.processes import free_port

pytestmark = pytest.mark.integration
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"


async def _paid_by_stripe(api: Api, org: str, inv: str) -> None:
    """Stripe's ``invoice.paid`` for the invoice's Stripe mirror ``in_cnr1`` (its customer is the account's)."""
    r = await api.client.get(f"/api/billing/invoices/{inv}", headers=api.as_user("ivy", org))  # opens it
    assert r.json()["status"] == "open"
    with api.ctx.sessions.begin() as s:
        s.add(StripeCustomer(stripe_customer_id="cus_cnr", account_id=org, created_at=MAY))
    paid = {"id": "in_cnr1", "object": "invoice", "customer": "cus_cnr", "metadata": {"meterline_invoice_id": inv}}
    body = {"id": "evt_cnr_paid", "type": "invoice.paid", "created": 1_781_000_000, "data": {"object": paid}}
    assert (await api.webhook(orjson.dumps(body))).json()["outcome"] == "applied"


@pytest.fixture
def smtp_sink(tmp_path: Path) -> Iterator[SmtpSink]:
    sink = SmtpSink(data_dir=tmp_path / "smtp", port=free_port())
    sink.start(timeout=30)
    try:
        yield sink
    finally:
        sink.stop()


async def test_a_stripe_paid_invoice_is_refunded_through_stripe_once(
    make_api: Callable[..., Any],
    warehouse: Warehouse,
    smtp_sink: SmtpSink,
    store_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with make_api(now=MAY) as api:
        org, inv = await _finalized_invoice(api, warehouse, {"adm": "admin", "vic": "viewer", "mo": "member"})
        await _paid_by_stripe(api, org, inv)
        r = await api.client.patch(
            f"/api/billing/organizations/{org}",
            json={"billing_email": "ap@acme.example"},
            headers=api.as_user("ivy", org),
        )
        assert r.status_code == 200, r.text
        url = f"/api/billing/invoices/{inv}/credit-notes"
        r = await api.client.post(url, json={"amount": "109.99", "reason": "duplicate"}, headers=api.as_operator())
        assert r.status_code == 201, r.text
        note = r.json()
        assert (note["refunded"], note["refund_via"], note["refund_status"]) == (10_999, "stripe", "succeeded")
        assert note["refund_reference"].startswith("re_") and note["refund_failure"] is None
        with api.ctx.sessions() as s:
            refunds = [(p.amount, p.method, p.outcome) for p in receivables.payments(s, inv) if p.outcome == "refunded"]
            logged = audit.entries(s, org, audit.AuditFilter(action="credit_note.refund_paid"))
        assert refunds == [(10_999, "card", "refunded")]
        assert [((e.after or {})["via"], (e.after or {})["reference"]) for e in logged] == [
            ("stripe", note["refund_reference"])
        ]
        # Stripe tells of the refund it made for us: no second credit note
        charge = {
            "id": "ch_cnr",
            "object": "charge",
            "customer": "cus_cnr",
            "invoice": "in_cnr1",
            "amount_refunded": 10_999,
            "refunds": {"object": "list", "data": [{"id": note["refund_reference"], "reason": "duplicate"}]},
        }
        body = {"id": "evt_cnr_ref", "type": "charge.refunded", "created": 1_781_000_100, "data": {"object": charge}}
        assert (await api.webhook(orjson.dumps(body))).json()["outcome"] == "ignored:no_change"
        # asking again pays nothing twice (the refund is paid), and only operators may ask
        again = f"{url}/{note['id']}/refund"
        r = await api.client.post(again, headers=api.as_operator())
        assert (r.status_code, r.json()["error"]["code"]) == (409, "cannot_refund")
        for who in (api.as_user("ivy", org), api.as_user("adm", org), await api.key(org, "ivy", "admin")):
            assert (await api.client.post(again, headers=who)).status_code == 403
        other = await api.org("zed", name="Other")
        assert (await api.client.post(again, headers=api.as_user("zed", other))).status_code == 404

        # the operator's shell pays a refund back through Stripe as well (stripe-mock of the settings)
        monkeypatch.setenv("METERLINE_API_DATABASE_URL", store_url)
        capsys.readouterr()
        argv = ["invoice", "credit-note", "--invoice", inv, "--amount", "1.00", "--reason", "duplicate", "--json"]
        assert main(argv) == 0
        by_cli = json.loads(capsys.readouterr().out)
        assert (by_cli["refunded"], by_cli["refund_status"], by_cli["refund_failure"]) == (100, "succeeded", None)

        # its own PDF, by id or number, for whoever reads the invoice
        pdf_url = f"{url}/{note['id']}/pdf"
        r = await api.client.get(pdf_url, headers=api.as_user("vic", org))
        assert (r.status_code, r.headers["content-type"]) == (200, "application/pdf")
        assert f'filename="{note["number"]}.pdf"' in r.headers["content-disposition"]
        text = pdf_text(r.content)
        assert note["number"] in text and "$109.99" in text and "refunded to the card" in text and "Acme" in text
        first_page_png(r.content, ARTIFACTS / "credit-note-api-page1.png")
        by_number = await api.client.get(f"{url}/{note['number']}/pdf", headers=api.as_user("ivy", org))
        assert by_number.content == r.content
        assert (await api.client.get(pdf_url, headers=api.as_user("mo", org))).status_code == 403
        assert (await api.client.get(pdf_url, headers=api.as_user("zed", other))).status_code == 404
        assert (await api.client.get(pdf_url)).status_code == 401
        missing = f"{url}/cn_{'0' * 24}/pdf"
        assert (await api.client.get(missing, headers=api.as_user("ivy", org))).status_code == 404
        assert (await api.client.get(f"{url}/nope/pdf", headers=api.as_user("ivy", org))).status_code == 400
        # another organization's credit note through this organization's invoice: not found
        other_inv = f"/api/billing/invoices/in_{other}_2026-05/credit-notes/{note['id']}/pdf"
        assert (await api.client.get(other_inv, headers=api.as_user("zed", other))).status_code == 404

        # its email, with the PDF attached, through a real SMTP server
        with api.ctx.sessions() as s:
            [notice, _] = s.scalars(
                select(NoticeRow).where(NoticeRow.kind == "credit_note_issued").order_by(NoticeRow.id)
            )
            assert (notice.account_id, notice.context["credit_note_number"]) == (org, note["number"])
            assert (notice.context["refunded"], notice.context["refund_via"]) == ("109.99", "stripe")
        relay = EmailRelay(
            api.ctx.sessions,
            SmtpSettings(host="127.0.0.1", port=smtp_sink.port),
            attachments=invoice_pdf_attachments(api.ctx.warehouse, api.settings, api.ctx.catalog),
            clock=api.clock,
        )
        await relay.drain()
        assert await relay.drain() == 0  # sent once
        [mail, _] = sorted(
            (m for m in messages(smtp_sink.maildir) if str(m["Subject"]).startswith("Credit note")),
            key=lambda m: str(m["Subject"]),
        )
        assert mail["To"] == "ap@acme.example"
        assert mail["Subject"] == f"Credit note {note['number']} on invoice {notice.context['invoice_number']}"
        text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "109.99 USD is paid back to you on the card that paid the invoice" in text
        [pdf] = [p for p in mail.iter_attachments() if p.get_content_type() == "application/pdf"]
        assert pdf.get_filename() == f"{note['number']}.pdf" and note["number"] in pdf_text(pdf.get_content())


async def test_a_failed_stripe_refund_is_kept_with_its_reason_and_retried_by_the_loop(
    make_api: Callable[..., Any], warehouse: Warehouse
) -> None:
    # Stripe unreachable (nothing listens on port 9): the refund fails for real, the credit note stands
    async with make_api(now=MAY, stripe_api_base="http://127.0.0.1:9") as api:
        org, inv = await _finalized_invoice(api, warehouse, {})
        await _paid_by_stripe(api, org, inv)
        r = await api.client.post(
            f"/api/billing/invoices/{inv}/credit-notes",
            json={"amount": "50.00", "reason": "product_unsatisfactory"},
            headers=api.as_operator(),
        )
        assert r.status_code == 201, r.text
        note = r.json()
        assert (note["refund_status"], note["refund_failure"]) == ("failed", "APIConnectionError")
        failed_at = api.clock()
        runner = api.app.state.dunning
        assert runner.run_once(failed_at + timedelta(minutes=1)).refunds == 0  # not due again yet
        assert runner.run_once(failed_at + timedelta(minutes=6)).refunds == 0  # due, fails again
        with api.ctx.sessions() as s:
            row = s.get_one(CreditNoteRow, note["id"])
            assert (row.refund_status, row.refund_attempts) == ("failed", 2)
        listed = (
            await api.client.get(f"/api/billing/invoices/{inv}/credit-notes", headers=api.as_user("ivy", org))
        ).json()
        assert [(c["refund_status"], c["refund_failure"]) for c in listed["credit_notes"]] == [
            ("failed", "APIConnectionError")
        ]
    async with make_api() as api:  # Stripe back: the loop pays it, once
        runner = api.app.state.dunning
        assert runner.run_once(failed_at + timedelta(minutes=20)).refunds == 1
        assert runner.run_once(failed_at + timedelta(days=1)).refunds == 0
        with api.ctx.sessions() as s:
            row = s.get_one(CreditNoteRow, note["id"])
        assert (row.refund_status, row.refund_attempts, row.refund_failure) == ("succeeded", 3, None)
        assert row.refund_reference is not None and row.refund_reference.startswith("re_")


async def test_a_wire_paid_invoice_owes_the_refund_until_an_operator_records_it(
    make_api: Callable[..., Any],
    warehouse: Warehouse,
    store_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with make_api(now=MAY) as api:
        org, inv = await _finalized_invoice(api, warehouse, {"adm": "admin"})
        assert (
            await api.client.get(f"/api/billing/invoices/{inv}", headers=api.as_user("ivy", org))
        ).status_code == 200
        with api.ctx.sessions.begin() as s:
            receivables.record_payment(s, inv, 54_999, "wire", api.clock(), source="operator", recorded_by="ops")
        url = f"/api/billing/invoices/{inv}/credit-notes"
        r = await api.client.post(url, json={"amount": "20.00", "reason": "order_change"}, headers=api.as_operator())
        note = r.json()
        assert (note["refund_via"], note["refund_status"], note["refund_reference"]) == ("manual", "owed", None)
        r2 = await api.client.post(url, json={"amount": "5.00", "reason": "duplicate"}, headers=api.as_operator())
        second = r2.json()

        refund = f"{url}/{note['number']}/refund"
        for who in (api.as_user("ivy", org), api.as_user("adm", org)):
            assert (await api.client.post(refund, json={"reference": "X"}, headers=who)).status_code == 403
        r = await api.client.post(refund, headers=api.as_operator())  # no Stripe payment to refund
        assert (r.status_code, r.json()["error"]["code"]) == (409, "cannot_refund")
        r = await api.client.post(refund, json={"reference": "SEPA-RF-77"}, headers=api.as_operator())
        assert r.status_code == 200, r.text
        assert (r.json()["refund_status"], r.json()["refund_reference"]) == ("recorded", "SEPA-RF-77")
        r = await api.client.post(refund, json={"reference": "SEPA-RF-78"}, headers=api.as_operator())
        assert (r.status_code, r.json()["error"]["code"]) == (409, "cannot_refund")  # recorded once

        # the operator's shell: what is still owed, and recording it
        monkeypatch.setenv("METERLINE_API_DATABASE_URL", store_url)
        capsys.readouterr()
        assert main(["invoice", "refunds", "--json"]) == 0
        owed = json.loads(capsys.readouterr().out)
        assert [(o["number"], o["refund_status"], o["refunded"]) for o in owed] == [(second["number"], "owed", 500)]
        argv = ["invoice", "refund", "--invoice", inv, "--credit-note", second["id"], "--reference", "SEPA-RF-79"]
        assert main(argv) == 0
        assert f"{second['number']}: refund recorded" in capsys.readouterr().out
        assert main(["invoice", "refunds", "--json"]) == 0
        assert json.loads(capsys.readouterr().out) == []
        with api.ctx.sessions() as s:
            logged = audit.entries(s, org, audit.AuditFilter(action="credit_note.refund_paid"))
        assert sorted((e.after or {})["reference"] for e in logged) == ["SEPA-RF-77", "SEPA-RF-79"]


async def test_a_retried_credit_note_with_its_idempotency_key_credits_once(
    make_api: Callable[..., Any], warehouse: Warehouse
) -> None:
    """$549.99 open, nothing paid. By hand: a $10.00 note asked three times with one key (once more, and twice at
    once with another key) lowers what is owed by $10.00 per key, never per request: $549.99 - 2 x $10.00 =
    $529.99 owed, two notes; a key reused for another amount is refused; a note without a key is always new."""
    import asyncio

    async with make_api(now=MAY) as api:
        org, inv = await _finalized_invoice(api, warehouse, {})
        url, ops = f"/api/billing/invoices/{inv}/credit-notes", api.as_operator()
        ten = {"amount": "10.00", "reason": "order_change"}
        first = await api.client.post(url, json=ten, headers={**ops, "Idempotency-Key": "k1"})
        assert first.status_code == 201, first.text
        again = await api.client.post(url, json=ten, headers={**ops, "Idempotency-Key": "k1"})
        assert again.status_code == 200, again.text
        assert again.json() == first.json()
        other = {"amount": "20.00", "reason": "order_change"}
        r = await api.client.post(url, json=other, headers={**ops, "Idempotency-Key": "k1"})
        assert (r.status_code, r.json()["error"]["code"]) == (409, "idempotency_conflict"), r.text
        r = await api.client.post(url, json=ten, headers={**ops, "Idempotency-Key": "x" * 256})
        assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_request"), r.text

        both = await asyncio.gather(
            *(api.client.post(url, json=ten, headers={**ops, "Idempotency-Key": "k2"}) for _ in range(2))
        )
        assert sorted(r.status_code for r in both) == [200, 201], [r.text for r in both]
        assert both[0].json()["id"] == both[1].json()["id"] != first.json()["id"]

        # the organization's owner cannot replay the operator's key to learn of a note (not the seller: 403)
        r = await api.client.post(url, json=ten, headers={**api.as_user("ivy", org), "Idempotency-Key": "k1"})
        assert r.status_code == 403, r.text
        with api.ctx.sessions() as s:
            assert [n.amount for n in receivables.credit_notes(s, inv)] == [1_000, 1_000]
            row = receivables.get(s, inv)
        assert (row.status, row.amount_due, row.amount_paid) == ("open", 52_999, 0)
        r = await api.client.get(f"/api/billing/invoices/{inv}", headers=api.as_user("ivy", org))
        assert r.json()["amount_remaining"] == 52_999, r.text
