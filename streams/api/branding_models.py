"""The billing API's models of white-label branding (issue 17, docs/white-label.md)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from streams.api.models import EMAIL_PATTERN

_COLOUR = r"^#[0-9a-fA-F]{6}$"
#: One line of printable text: a name goes into an email's From header (a line break there would inject headers
#: or make every notice of the organization fail to send) and onto PDFs.
_ONE_LINE = r"^[^\x00-\x1f\x7f]+$"
#: A logo is a small PNG or JPEG (base64): shown in the app's header, the PDFs and the emails.
MAX_LOGO_BYTES = 200_000


class BrandingIn(BaseModel):
    """A PUT replaces the fields it names; ``logo`` null removes the logo, absent keeps it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    display_name: str | None = Field(
        None, min_length=1, max_length=200, pattern=_ONE_LINE, description="null: the organization's name"
    )
    primary_colour: str | None = Field(None, pattern=_COLOUR, description="#rrggbb: headings, links, the header")
    accent_colour: str | None = Field(None, pattern=_COLOUR, description="#rrggbb: highlights")
    logo: str | None = Field(None, max_length=MAX_LOGO_BYTES * 4 // 3 + 4, description="a PNG or JPEG, base64")
    sender_name: str | None = Field(
        None, min_length=1, max_length=200, pattern=_ONE_LINE, description="the From name of notice emails"
    )
    reply_to: str | None = Field(
        None, pattern=EMAIL_PATTERN, max_length=320, description="the Reply-To address of notice emails"
    )


class BrandingOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organization_id: str
    entitled: bool = Field(description="the organization has the white-label add-on: its branding is in effect")
    display_name: str | None
    primary_colour: str | None
    accent_colour: str | None
    logo_url: str | None = Field(description="where the logo is served (null: none)")
    sender_name: str | None
    reply_to: str | None
    updated_at: datetime | None
    updated_by: str | None
