"""The web app's sign-in (docs/web-app-server.md): one-time login links and the browser sessions they open.

A link's token and a session's id are 256-bit random secrets shown once; only their SHA-256 is stored
(``streams/key_format.py``). A link is consumed by one atomic update (used once, before it expires), so two
browsers racing on the same link cannot both get a session.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from sqlalchemy import CursorResult, update
from sqlalchemy.orm import Session

from streams.key_format import secret_hash
from streams.store.models import LoginLinkRow, WebSessionRow

#: ``issued_by`` of a link made by ``meterline api login-link`` (an operator's act, like ``api invite``).
OPERATOR = "operator:cli"

LinkRefusal = Literal["unknown", "used", "expired"]


@dataclass(frozen=True, slots=True)
class NewLink:
    token: str  # shown once, never stored
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class NewSession:
    session_id: str  # the cookie's value, shown once, never stored
    csrf_token: str
    row: WebSessionRow


def create_link(
    s: Session, user_id: str, organization_id: str | None, issued_by: str, now: datetime, ttl: timedelta
) -> NewLink:
    token = secrets.token_urlsafe(32)
    s.add(
        LoginLinkRow(
            token_sha256=secret_hash(token),
            user_id=user_id,
            organization_id=organization_id,
            issued_by=issued_by,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    return NewLink(token, now + ttl)


def link_refusal(s: Session, token: str, now: datetime) -> LinkRefusal | None:
    """Why ``token`` cannot sign in (unknown, used already, expired), or None while it can: a look that
    uses nothing up (the sign-in page shown on GET, which link scanners may fetch)."""
    row = s.get(LoginLinkRow, secret_hash(token))
    if row is None:
        return "unknown"
    if row.used_at is not None:
        return "used"
    return "expired" if row.expires_at <= now else None


def consume_link(s: Session, token: str, now: datetime) -> LoginLinkRow | LinkRefusal:
    """The link of ``token``, marked used; or why it cannot be used (unknown, used already, expired)."""
    digest = secret_hash(token)
    done = cast(
        CursorResult[Any],
        s.execute(
            update(LoginLinkRow)
            .where(
                LoginLinkRow.token_sha256 == digest,
                LoginLinkRow.used_at.is_(None),
                LoginLinkRow.expires_at > now,
            )
            .values(used_at=now)
        ),
    )
    row = s.get(LoginLinkRow, digest, populate_existing=True)
    if row is None:
        return "unknown"
    if done.rowcount != 1:
        return "used" if row.used_at is not None else "expired"
    return row


def open_session(s: Session, user_id: str, organization_id: str | None, now: datetime, ttl: timedelta) -> NewSession:
    session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    row = WebSessionRow(
        id_sha256=secret_hash(session_id),
        user_id=user_id,
        organization_id=organization_id,
        csrf_token=csrf,
        created_at=now,
        expires_at=now + ttl,
    )
    s.add(row)
    return NewSession(session_id, csrf, row)


def live_session(s: Session, session_id: str, now: datetime) -> WebSessionRow | None:
    """The session of a cookie's value while it is neither expired nor signed out."""
    if not session_id or len(session_id) > 128:
        return None
    row = s.get(WebSessionRow, secret_hash(session_id))
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    return row


def close_session(s: Session, session_id: str, now: datetime) -> None:
    s.execute(
        update(WebSessionRow)
        .where(WebSessionRow.id_sha256 == secret_hash(session_id), WebSessionRow.revoked_at.is_(None))
        .values(revoked_at=now)
    )
