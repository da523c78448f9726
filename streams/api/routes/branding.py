"""``/api/billing/organizations/{id}/branding``: an organization's white-label branding (docs/white-label.md). Every
member reads it (the app shows it); owners and admins set it, only while the organization has the white-label
add-on (403 ``addon_required`` otherwise); ``.../branding/logo`` serves the logo."""

from __future__ import annotations

import base64
import binascii
import hashlib

from starlette.responses import Response

from streams.api.audit import actor_of, audit_change
from streams.api.auth import ANY, MANAGE, require_role
from streams.api.branding_models import MAX_LOGO_BYTES, BrandingIn, BrandingOut
from streams.api.common import caller
from streams.api.errors import ApiError
from streams.api.models import ORG_ID_PATTERN
from streams.api.routes.orgs import PREFIX
from streams.api.routing import Call, Endpoint
from streams.store import branding
from streams.store.models import BrandingRow

_IMAGES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


def _out(org_id: str, row: BrandingRow | None, entitled: bool) -> BrandingOut:
    return BrandingOut(
        organization_id=org_id,
        entitled=entitled,
        display_name=row.display_name if row else None,
        primary_colour=row.primary_colour if row else None,
        accent_colour=row.accent_colour if row else None,
        logo_url=f"{PREFIX}/{org_id}/branding/logo" if row is not None and row.logo else None,
        sender_name=row.sender_name if row else None,
        reply_to=row.reply_to if row else None,
        updated_at=row.updated_at if row else None,
        updated_by=row.updated_by if row else None,
    )


def _audited(row: BrandingRow | None) -> dict[str, object] | None:
    if row is None:
        return None
    logo = hashlib.sha256(row.logo).hexdigest()[:16] if row.logo else None
    keys = ("display_name", "primary_colour", "accent_colour", "sender_name", "reply_to")
    return {**{k: getattr(row, k) for k in keys}, "logo": logo}


def _logo(text: str) -> tuple[bytes, str]:
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ApiError(422, "invalid_logo", "logo: not base64") from exc
    if len(data) > MAX_LOGO_BYTES:
        raise ApiError(422, "invalid_logo", f"logo: larger than {MAX_LOGO_BYTES} bytes")
    kind = next((t for magic, t in _IMAGES.items() if data.startswith(magic)), None)
    if kind is None:
        raise ApiError(422, "invalid_logo", "logo: a PNG or JPEG image only")
    return data, kind


def get_branding(call: Call) -> BrandingOut:
    org_id = call.path["id"]
    with call.ctx.sessions() as s:
        require_role(s, caller(call, s), org_id, ANY)
        return _out(org_id, s.get(BrandingRow, org_id), branding.entitled(s, org_id, call.ctx.clock()))


def put_branding(call: Call) -> BrandingOut:
    body: BrandingIn = call.body
    org_id = call.path["id"]
    now = call.ctx.clock()
    with call.ctx.sessions.begin() as s:
        who = caller(call, s)
        require_role(s, who, org_id, MANAGE)
        if not branding.entitled(s, org_id, now):
            raise ApiError(403, "addon_required", "white-label branding needs the white_label_setup add-on")
        row = s.get(BrandingRow, org_id)
        before = _audited(row)
        if row is None:
            row = BrandingRow(organization_id=org_id)
            s.add(row)
        for field in ("display_name", "primary_colour", "accent_colour", "sender_name", "reply_to"):
            if field in body.model_fields_set:
                setattr(row, field, getattr(body, field))
        if "logo" in body.model_fields_set:
            row.logo, row.logo_type = _logo(body.logo) if body.logo else (None, None)
        row.updated_at, row.updated_by = now, actor_of(who)
        s.flush()
        audit_change(call, s, who, org_id, "branding.changed", before=before, after=_audited(row))
        return _out(org_id, row, True)


def get_logo(call: Call) -> Response:
    org_id = call.path["id"]
    with call.ctx.sessions() as s:
        require_role(s, caller(call, s), org_id, ANY)
        row = s.get(BrandingRow, org_id)
        if row is None or not row.logo or not row.logo_type:
            raise ApiError(404, "not_found", f"{org_id} has no logo")
        return Response(row.logo, media_type=row.logo_type, headers={"cache-control": "private, max-age=60"})


_TAG = "branding"
_BINARY = {"type": "string", "format": "binary"}
ENDPOINTS = [
    Endpoint(
        "GET",
        f"{PREFIX}/{{id}}/branding",
        get_branding,
        "The organization's white-label branding and whether it is in effect (every member)",
        _TAG,
        BrandingOut,
        path_params={"id": ORG_ID_PATTERN},
    ),
    Endpoint(
        "PUT",
        f"{PREFIX}/{{id}}/branding",
        put_branding,
        "Set the organization's white-label name, logo, colours, email sender name and reply-to (owners, admins; "
        "needs the white-label add-on)",
        _TAG,
        BrandingOut,
        body=BrandingIn,
        path_params={"id": ORG_ID_PATTERN},
        errors=(401, 403, 404, 422),
    ),
    Endpoint(
        "GET",
        f"{PREFIX}/{{id}}/branding/logo",
        get_logo,
        "The organization's logo (PNG or JPEG; every member)",
        _TAG,
        None,
        path_params={"id": ORG_ID_PATTERN},
        errors=(401, 403, 404),
        media={
            "image/png": {"type": "string", "format": "binary"},
            "image/jpeg": {"type": "string", "format": "binary"},
        },
        media_only=True,
    ),
]
