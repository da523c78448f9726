"""``/api/billing/organizations/{id}/audit``: an organization's audit log, to its owners, admins and viewers
(members see none of it), as JSON pages or a CSV export (docs/audit.md). Read only: no write path exists."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC

import orjson
from sqlalchemy.orm import Session, sessionmaker
from starlette.responses import Response, StreamingResponse

from streams.api.audit_models import AuditEntryOut, AuditPage, AuditQuery
from streams.api.auth import READ_ALL, require_role
from streams.api.common import caller
from streams.api.errors import ApiError
from streams.api.models import ORG_ID_PATTERN
from streams.api.routing import Call, Endpoint
from streams.store import audit
from streams.store.models import AuditEntry

PREFIX = "/api/billing/organizations"
CSV = "text/csv"
CSV_COLUMNS = ("id", "at", "actor", "action", "target", "before", "after", "ip", "user_agent")


def _filter(q: AuditQuery) -> audit.AuditFilter:
    for t in (q.since, q.until):
        if t is not None and t.tzinfo is None:
            raise ApiError(422, "invalid_request", "since and until need a UTC offset (RFC 3339)")
    return audit.AuditFilter(
        q.action,
        q.actor,
        q.target,
        q.since.astimezone(UTC) if q.since else None,
        q.until.astimezone(UTC) if q.until else None,
    )


def _out(e: AuditEntry) -> AuditEntryOut:
    return AuditEntryOut(
        id=e.id,
        at=e.at,
        actor=e.actor,
        action=e.action,
        target=e.target,
        before=e.before,
        after=e.after,
        ip=e.ip,
        user_agent=e.user_agent,
    )


def list_audit(call: Call) -> AuditPage:
    q: AuditQuery = call.query
    org_id = call.path["id"]
    with call.ctx.sessions() as s:
        require_role(s, caller(call, s), org_id, READ_ALL)
        rows = audit.entries(s, org_id, _filter(q), before_id=q.cursor, limit=q.limit + 1)
    page = rows[: q.limit]
    return AuditPage(
        organization_id=org_id,
        entries=[_out(e) for e in page],
        next_cursor=page[-1].id if len(rows) > q.limit else None,
    )


def _cell(value: object) -> str:
    if value is None:
        return ""
    text = orjson.dumps(value).decode() if isinstance(value, dict) else str(value)
    # A spreadsheet runs a cell starting with = + - @ as a formula (CSV injection): quote it as text.
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_audit(call: Call) -> Response:
    q: AuditQuery = call.query
    org_id = call.path["id"]
    with call.ctx.sessions() as s:
        require_role(s, caller(call, s), org_id, READ_ALL)
    return StreamingResponse(
        _csv(call.ctx.sessions, org_id, _filter(q)),
        media_type=f"{CSV}; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="audit-{org_id}.csv"'},
    )


def _csv(sessions: sessionmaker[Session], org_id: str, f: audit.AuditFilter) -> Iterator[str]:
    """The CSV a batch at a time: the whole log of a large organization is never held in memory at once."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS)
    for batch in audit.iter_entries(sessions, org_id, f):
        for e in batch:
            w.writerow([_cell(e.id), e.at.isoformat(), *(_cell(getattr(e, c)) for c in CSV_COLUMNS[2:])])
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()


_TAG = "audit"
_ORG = {"id": ORG_ID_PATTERN}

ENDPOINTS = [
    Endpoint(
        "GET",
        f"{PREFIX}/{{id}}/audit",
        list_audit,
        "The organization's audit log, newest first (owners, admins, viewers)",
        _TAG,
        AuditPage,
        query=AuditQuery,
        path_params=_ORG,
        errors=(401, 403, 404, 422),
    ),
    Endpoint(
        "GET",
        f"{PREFIX}/{{id}}/audit.csv",
        export_audit,
        "The organization's audit log as CSV (the same filters; `cursor` and `limit` ignored)",
        _TAG,
        None,
        query=AuditQuery,
        path_params=_ORG,
        errors=(401, 403, 404, 422),
        media={CSV: {"type": "string"}},
        media_only=True,
    ),
]
