"""White-label branding (issue 17, item 7): an organization with the white-label add-on sets its name, logo,
colours, email sender name and reply-to; its notice emails and invoice PDFs carry them; without the add-on it
cannot set them and everything keeps the defaults. Members read it; only owners and admins write it; nobody
else sees it."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from streams.api.invoice_pdf import PdfBrand, render_invoice
from streams.api.models import InvoiceDocument
from streams.notify import email
from streams.notify.relays import email_brand
from streams.store import branding
from tests.support.pdf import pdf_text

pytestmark = pytest.mark.integration
ORGS = "/api/billing/organizations"
NOW = datetime(2026, 6, 10, 12, tzinfo=UTC)
# The smallest PNG: one transparent pixel.
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=")


async def test_branding_needs_the_addon_and_only_managers_set_it(make_api: Callable[..., Any]) -> None:
    async with make_api(now=NOW) as api:
        c = api.client
        org = await api.org("olga", name="Acme", members={"ada": "admin", "mel": "member", "vic": "viewer"})
        other = await api.org("eve", name="Other")
        owner = api.as_user("olga", org)
        r = await c.post("/api/billing/subscriptions/create", json={"tier": "enterprise"}, headers=owner)
        sid = r.json()["id"]
        url = f"{ORGS}/{org}/branding"
        body = {
            "display_name": "Acme Learning",
            "primary_colour": "#aa3300",
            "sender_name": "Acme Billing",
            "reply_to": "finance@acme.example",
            "logo": base64.b64encode(PNG).decode(),
        }
        got = (await c.get(url, headers=api.as_user("mel", org))).json()
        assert got["entitled"] is False and got["display_name"] is None
        r = await c.put(url, json=body, headers=owner)
        assert (r.status_code, r.json()["error"]["code"]) == (403, "addon_required")

        r = await c.post(
            f"/api/billing/subscriptions/{sid}/addons", json={"name": "white_label_setup"}, headers=api.as_operator()
        )
        assert r.status_code == 201, r.text
        for bad, code in [
            ({"primary_colour": "red"}, "invalid_request"),
            ({"reply_to": "not an address"}, "invalid_request"),
            # A line break in the From name would inject email headers (or stop the organization's notices).
            ({"sender_name": "Acme\r\nBcc: everyone@example.com"}, "invalid_request"),
            ({"display_name": "Acme\nInc"}, "invalid_request"),
            ({"logo": base64.b64encode(b"<svg onload=alert(1)>").decode()}, "invalid_logo"),
            ({"logo": "%%%"}, "invalid_logo"),
        ]:
            r = await c.put(url, json=bad, headers=owner)
            assert (r.status_code, r.json()["error"]["code"]) == (422, code), r.text
        for headers, status in [
            (api.as_user("mel", org), 403),
            (api.as_user("vic", org), 403),
            (api.as_user("eve", other), 404),
            (await api.key(other, "eve", "admin"), 404),
            ({}, 401),
        ]:
            assert (await c.put(url, json=body, headers=headers)).status_code == status
            assert (await c.get(url, headers=headers)).status_code in (status if status != 403 else 200,)
        r = await c.put(url, json=body, headers=api.as_user("ada", org))
        assert r.status_code == 200, r.text
        got = r.json()
        assert (got["entitled"], got["display_name"], got["primary_colour"]) == (True, "Acme Learning", "#aa3300")
        assert got["logo_url"] == f"{url}/logo" and got["updated_by"] == "user:ada"
        logo = await c.get(got["logo_url"], headers=api.as_user("mel", org))
        assert (logo.status_code, logo.headers["content-type"], logo.content) == (200, "image/png", PNG)
        assert (await c.get(got["logo_url"], headers=api.as_user("eve", other))).status_code == 404
        # A partial PUT keeps the rest; logo null removes it.
        r = await c.put(url, json={"accent_colour": "#0055ff", "logo": None}, headers=owner)
        assert (r.json()["display_name"], r.json()["accent_colour"], r.json()["logo_url"]) == (
            "Acme Learning",
            "#0055ff",
            None,
        )
        log = (await c.get(f"{ORGS}/{org}/audit?action=branding.changed", headers=owner)).json()["entries"]
        assert [e["actor"] for e in log] == ["user:olga", "user:ada"]
        assert log[0]["before"]["logo"] is not None and log[0]["after"]["logo"] is None

        with api.ctx.sessions() as s:
            assert branding.brand_of(s, org, NOW).sender_name == "Acme Billing"
            assert branding.brand_of(s, other, NOW) == branding.DEFAULT


def test_a_branded_email_and_invoice() -> None:
    brand = branding.Brand(
        custom=True,
        name="Acme Learning",
        primary_colour="#aa3300",
        sender_name="Acme Billing",
        reply_to="finance@acme.example",
        logo=PNG,
        logo_type="image/png",
    )
    notice = email.Notice(
        "k1", "budget_alert", "org-1", "to@acme.example", {"period": "2026-06"}, [], email_brand(brand)
    )
    msg = email.build(notice, email.SmtpSettings(sender="billing@meterline.local"), NOW)
    assert msg["From"] == "Acme Billing <billing@meterline.local>" and msg["Reply-To"] == "finance@acme.example"
    html = msg.get_body(("html",))
    assert html is not None
    text = html.get_content() if html.get_content_type() == "text/html" else next(html.iter_parts()).get_content()
    assert "Acme Learning billing for org-1" in text and "color:#aa3300" in text and "cid:brand-logo@meterline" in text
    assert any(p.get_content_type() == "image/png" for p in msg.walk())
    plain = email.build(
        email.Notice(
            "k2", "budget_alert", "org-2", "to@b.example", {"period": "2026-06"}, [], email_brand(branding.DEFAULT)
        ),
        email.SmtpSettings(sender="billing@meterline.local"),
        NOW,
    )
    assert plain["From"] == "billing@meterline.local" and plain["Reply-To"] is None
    assert "Meterline billing for org-2" in plain.get_body(("html",)).get_content()  # type: ignore[union-attr]

    doc = InvoiceDocument.model_validate(
        {
            "invoice_id": "in_org-1_2026-05",
            "account_id": "org-1",
            "period": "2026-05",
            "period_start": "2026-05-01T00:00:00Z",
            "period_end": "2026-06-01T00:00:00Z",
            "tier": "standard",
            "status": "open",
            "currency": "usd",
            "lines": [],
            "subtotal": "0.00",
            "total": "0.00",
        }
    )
    branded = render_invoice(doc, brand=PdfBrand("Acme Learning", "#aa3300", PNG))
    default = render_invoice(doc)
    assert "Acme Learning" in pdf_text(branded) and "Acme Learning" not in pdf_text(default)
    assert branded.count(b"/Subtype /Image") >= 1 and default.count(b"/Subtype /Image") == 0  # the logo
