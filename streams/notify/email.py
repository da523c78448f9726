"""Emails: notices rendered from the templates in ``templates/`` (plain text and HTML) and sent through SMTP
(docs/notifications.md)."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any, Literal

import jinja2
from pydantic import SecretStr

TEMPLATES = Path(__file__).parent / "templates"
LOGO_CID = "brand-logo@meterline"

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=jinja2.select_autoescape(["html.j2"]),
    undefined=jinja2.ChainableUndefined,  # a context without an optional field renders it empty
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "127.0.0.1"
    port: int = 8025
    tls: Literal["none", "starttls", "implicit"] = "none"
    username: str | None = None
    password: SecretStr | None = None
    sender: str = "billing@meterline.local"
    timeout: float = 30.0


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str = "application"
    subtype: str = "pdf"


@dataclass(frozen=True)
class EmailBrand:
    """A white-label organization's look of its emails (streams/store/branding.py): None fields keep the defaults."""

    name: str | None = None
    colour: str | None = None
    sender_name: str | None = None
    reply_to: str | None = None
    logo: bytes | None = None
    logo_type: str | None = None  # image/png | image/jpeg


@dataclass(frozen=True)
class Notice:
    key: str
    kind: str
    account_id: str
    recipient: str
    context: dict[str, Any]
    attachments: list[Attachment] = field(default_factory=list)
    brand: EmailBrand | None = None


def render(kind: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """The subject, plain text and HTML of one notice."""
    subject = _env.get_template(f"{kind}.subject.j2").render(context).strip()
    text = _env.get_template(f"{kind}.txt.j2").render(context)
    html = _env.get_template(f"{kind}.html.j2").render(context)
    return subject, text, html


def message_id(key: str, sender: str) -> str:
    """The Message-ID of a notice: from its idempotency key, so a resend after a crash reads as the same mail."""
    domain = sender.rpartition("@")[2] or "meterline.local"
    safe = "".join(c if c.isalnum() or c in "-._" else "_" for c in key)
    return f"<{safe}@{domain}>"


def build(notice: Notice, settings: SmtpSettings, now: datetime) -> EmailMessage:
    """The email of one notice: text and HTML alternatives, its attachments, a Message-ID from its key."""
    brand = notice.brand or EmailBrand()
    logo = brand.logo is not None and brand.logo_type is not None
    look = {"brand_name": brand.name, "brand_colour": brand.colour, "brand_logo": LOGO_CID if logo else None}
    subject, text, html = render(notice.kind, {"account_id": notice.account_id, **notice.context, **look})
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = formataddr((brand.sender_name or brand.name or "", settings.sender))
    if brand.reply_to:
        msg["Reply-To"] = brand.reply_to
    msg["To"] = notice.recipient
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id(notice.key, settings.sender)
    msg["X-Meterline-Notice"] = notice.kind
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    if logo:  # shown inline by the HTML part (cid:), not as an attachment
        assert brand.logo is not None and brand.logo_type is not None
        maintype, subtype = brand.logo_type.split("/", 1)
        html_part = msg.get_body(("html",))
        assert isinstance(html_part, EmailMessage)
        html_part.add_related(brand.logo, maintype=maintype, subtype=subtype, cid=f"<{LOGO_CID}>")
    for a in notice.attachments:
        msg.add_attachment(a.content, maintype=a.maintype, subtype=a.subtype, filename=a.filename)
    return msg


def send(msg: EmailMessage, settings: SmtpSettings) -> None:
    """Send one message (blocking: call it in a thread). TLS: STARTTLS, implicit (SMTPS) or none."""
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if settings.tls == "implicit":
        smtp = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout, context=context)
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    with smtp:
        if settings.tls == "starttls":
            smtp.starttls(context=context)
        if settings.username:
            password = settings.password.get_secret_value() if settings.password else ""
            smtp.login(settings.username, password)
        smtp.send_message(msg)
