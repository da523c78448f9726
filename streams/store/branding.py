"""White-label branding (issue 17, docs/white-label.md): an organization with the ``white_label_setup`` add-on shows
its own name, logo and colours on the billing app, invoice PDFs and notice emails, and sends its emails under its
own sender name and reply-to address; every other organization gets the defaults. ``brand_of`` is the one place
that decides which applies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from streams.store import addons
from streams.store.models import BrandingRow, Organization

WHITE_LABEL_ADDON = "white_label_setup"


@dataclass(frozen=True, slots=True)
class Brand:
    """The branding in effect: the organization's own (``custom``) or the defaults (every field None)."""

    custom: bool
    name: str | None = None
    primary_colour: str | None = None
    accent_colour: str | None = None
    logo_type: str | None = None
    logo: bytes | None = None
    sender_name: str | None = None
    reply_to: str | None = None


DEFAULT = Brand(custom=False)


def entitled(s: Session, org_id: str, now: datetime) -> bool:
    """Whether the organization has the white-label add-on (recorded on its subscription, started by ``now``)."""
    return any(u.name == WHITE_LABEL_ADDON and u.start <= now for u in addons.uses(s, org_id))


def brand_of(s: Session, account_id: str, now: datetime) -> Brand:
    """The branding an account's app, invoices and emails show now: its own with the add-on, else the defaults."""
    row = s.get(BrandingRow, account_id)
    if row is None or not entitled(s, account_id, now):
        return DEFAULT
    org = s.get(Organization, account_id)
    return Brand(
        custom=True,
        name=row.display_name or (org.name if org is not None else None),
        primary_colour=row.primary_colour,
        accent_colour=row.accent_colour,
        logo_type=row.logo_type if row.logo else None,
        logo=row.logo,
        sender_name=row.sender_name,
        reply_to=row.reply_to,
    )
