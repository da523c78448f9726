"""``meterline api``: the billing API server, its store's migrations, bootstrap of an organization, an
operator's invitation, and its OpenAPI document."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from streams.cli.output import emit_json
from streams.settings import Settings, load_settings


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "api",
        help="the billing API: serve, migrate, bootstrap an organization, invite, OpenAPI",
        description="The billing API (subscriptions, organizations, entitlements, usage, invoices, Stripe "
        "webhooks) over its relational store (METERLINE_API_DATABASE_URL; default SQLite in the data dir).",
    )
    asub = p.add_subparsers(dest="api_command", metavar="ACTION", required=True)
    s = asub.add_parser(
        "serve",
        help="serve the billing API with uvicorn",
        description="Migrate the store, then serve the billing API under /api/billing (OpenAPI at "
        "/api/billing/openapi.json) with uvicorn. It follows billing.quota-state for live usage, publishes "
        "subscription changes to billing.subscriptions through its outbox, mirrors them to Stripe "
        "(METERLINE_STRIPE_API_BASE) through a second outbox, and reads settled data from "
        "ClickHouse (through the local warehouse bridge when one runs). Entitlement checks answer from memory: "
        "credentials, access and subscriptions are cached; a change through this process applies at once, one "
        "through another process within METERLINE_API_CACHE_SECONDS (docs/gateways.md).",
    )
    s.add_argument("--host", help="address to bind (default METERLINE_API_HOST, 127.0.0.1)")
    s.add_argument("--port", type=int, help="port (default METERLINE_API_PORT, 8090)")
    s.add_argument(
        "--metrics-port",
        type=int,
        default=0,
        help="serve the API's Prometheus metrics on METERLINE_METRICS_HOST:PORT/metrics (127.0.0.1 by default), "
        "apart from the API (default 0: off)",
    )
    s.set_defaults(func=_serve)
    m = asub.add_parser(
        "migrate",
        help="apply the store's migrations (idempotent)",
        description="Apply every migration of the billing store not applied yet (serve does it too).",
    )
    m.add_argument("--json", action="store_true", help="print the revision as JSON")
    m.set_defaults(func=_migrate)
    b = asub.add_parser(
        "bootstrap",
        help="create an organization, its owner and an admin API key; prints the key once",
        description="Create an organization with an owner (a platform user id) and an admin API key, for a "
        "first deployment or a script. The key is shown once; only its hash is stored. It works while the owner "
        "is an owner or admin of the organization.",
    )
    b.add_argument("--name", required=True, help="the organization's name")
    b.add_argument("--owner", required=True, help="user id of its owner (the JWT 'sub' of that user)")
    b.add_argument("--key-name", default="bootstrap", help="name of the API key (default bootstrap)")
    b.add_argument("--json", action="store_true", help="print as JSON")
    b.set_defaults(func=_bootstrap)
    i = asub.add_parser(
        "invite",
        help="invite a platform user to an organization (the user accepts with their own token)",
        description="Create an invitation of a platform user id to an organization, as an operator. Nobody "
        "becomes a member without consent: the user accepts it with their own JWT, without an 'org' claim "
        "(POST /api/billing/invitations/{id}/accept), before it expires (METERLINE_API_INVITATION_TTL_DAYS).",
    )
    i.add_argument("--org", required=True, help="the organization's id (org_...)")
    i.add_argument("--user", required=True, help="the invited user's id (the JWT 'sub' that accepts)")
    i.add_argument("--role", required=True, choices=["owner", "admin", "member", "viewer"], help="role once accepted")
    i.add_argument("--email", help="the invited user's email, kept with the invitation")
    i.add_argument("--json", action="store_true", help="print as JSON")
    i.set_defaults(func=_invite)
    ll = asub.add_parser(
        "login-link",
        help="print a one-time link that signs a user in to the web app (/app/)",
        description="As an operator, make a link that signs the browser in to the web app as a platform user (as "
        "their JWT with this 'sub', and 'org' when --org is given). It works once, within "
        "METERLINE_API_LOGIN_LINK_TTL_SECONDS; the session then lasts METERLINE_API_SESSION_TTL_SECONDS. Links "
        "point at METERLINE_API_PUBLIC_URL (docs/web-app-server.md).",
    )
    ll.add_argument("--user", required=True, help="the user's id (the JWT 'sub')")
    ll.add_argument("--org", help="act in this organization (org_...; the user must be a member)")
    ll.add_argument("--json", action="store_true", help="print as JSON")
    ll.set_defaults(func=_login_link)
    d = asub.add_parser(
        "billing-details",
        help="show or set an organization's billing email, billing address and tax id (printed on its invoices)",
        description="As an operator, show an organization's billing details, or set those given (the same rules as "
        "PATCH /api/billing/organizations/{id}; docs/invoices.md). An address needs --line1, --city and --country.",
    )
    d.add_argument("--org", required=True, help="the organization's id (org_...)")
    d.add_argument("--billing-email", help="where invoices and billing notices go")
    d.add_argument("--tax-id", help="VAT number, EIN, ...")
    d.add_argument("--line1", help="address: first line")
    d.add_argument("--line2", help="address: second line")
    d.add_argument("--city", help="address: city")
    d.add_argument("--postal-code", help="address: postal code")
    d.add_argument("--region", help="address: state, province or county (e.g. CA, BC)")
    d.add_argument("--country", help="address: ISO 3166-1 alpha-2 code (e.g. DE)")
    d.add_argument("--json", action="store_true", help="print as JSON")
    d.set_defaults(func=_billing_details)
    o = asub.add_parser(
        "openapi",
        help="print or write the OpenAPI document",
        description="The OpenAPI 3.1 document of the billing API (committed as docs/openapi-billing.json).",
    )
    o.add_argument("--output", type=Path, help="write to this file instead of printing")
    o.set_defaults(func=_openapi)


def _engine(settings: Settings) -> Any:
    from streams.store.db import database_url, make_engine, migrate

    url = settings.api_database_url.get_secret_value() if settings.api_database_url else None
    engine = make_engine(database_url(settings.data_dir, url))
    migrate(engine)
    return engine


def _serve(args: argparse.Namespace) -> int:
    import gc

    import uvicorn

    from streams.api.app import create_app

    settings = load_settings()
    app = create_app(settings)
    app.state.ctx.metrics.serve(args.metrics_port, settings.metrics_host)
    # What start-up built (modules, catalog, models, routes: ~130k objects) leaves the garbage collector: a full
    # collection of it took 70-100 ms, a stall every request in flight waited for (the gateway check's p99).
    gc.collect()
    gc.freeze()
    uvicorn.run(
        app,
        host=args.host or settings.api_host,
        port=args.port or settings.api_port,
        log_level="warning",
        lifespan="on",
    )
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from streams.store.db import current_revision

    revision = current_revision(_engine(load_settings()))
    if args.json:
        emit_json({"revision": revision})
    else:
        print(f"billing store at revision {revision}")
    return 0


def _bootstrap(args: argparse.Namespace) -> int:
    from streams.store import orgs
    from streams.store.db import sessions

    now = datetime.now(UTC)
    try:
        with sessions(_engine(load_settings())).begin() as s:
            org = orgs.create_organization(s, args.name, args.owner, now)
            # The key depends on the owner's role, as every key does on its creator's (docs/security.md).
            row, key = orgs.create_api_key(s, org.id, args.key_name, "admin", now, created_by=args.owner)
            out = {"organization_id": org.id, "owner": args.owner, "api_key_id": row.id, "api_key": key}
    except orgs.StoreConflict as exc:  # --owner names an organization: never a member
        print(f"meterline api bootstrap: {exc.message}", file=sys.stderr)
        return 2
    if args.json:
        emit_json(out)
    else:
        print(f"organization {out['organization_id']} (owner {args.owner})")
        print(f"admin API key {out['api_key_id']} (shown once, store it now):\n{key}")
    return 0


def _invite(args: argparse.Namespace) -> int:
    import re
    from datetime import timedelta

    from streams.api.models import EMAIL_PATTERN, ID_PATTERN
    from streams.store import invitations, orgs
    from streams.store.db import sessions

    if not re.fullmatch(ID_PATTERN, args.user) or (args.email and not re.fullmatch(EMAIL_PATTERN, args.email)):
        print("meterline api invite: --user must be an id of 1-128 characters, --email an address", file=sys.stderr)
        return 2
    settings = load_settings()
    now = datetime.now(UTC)
    expires = now + timedelta(days=settings.api_invitation_ttl_days)
    try:
        with sessions(_engine(settings)).begin() as s:
            if not orgs.is_organization(s, args.org):
                raise orgs.StoreConflict("not_found", f"no organization {args.org}")
            inv = invitations.create(s, args.org, args.user, args.role, args.email, invitations.OPERATOR, now, expires)
            out = {"invitation_id": inv.id, "organization_id": args.org, "user_id": args.user, "role": args.role}
    except orgs.StoreConflict as exc:
        print(f"meterline api invite: {exc.message}", file=sys.stderr)
        return 2
    out["expires_at"] = expires.isoformat()
    if args.json:
        emit_json(out)
    else:
        print(f"invitation {out['invitation_id']}: {args.user} as {args.role} of {args.org}, until {out['expires_at']}")
        print("the user accepts it with their own token: POST /api/billing/invitations/<id>/accept")
    return 0


def _login_link(args: argparse.Namespace) -> int:
    import re

    from streams.api.models import ID_PATTERN
    from streams.api.web_session import link_ttl, login_url
    from streams.store import orgs, web_sessions
    from streams.store.db import sessions

    if not re.fullmatch(ID_PATTERN, args.user) or (args.org and not re.fullmatch(ID_PATTERN, args.org)):
        print("meterline api login-link: --user and --org must be ids of 1-128 characters", file=sys.stderr)
        return 2
    settings = load_settings()
    now = datetime.now(UTC)
    with sessions(_engine(settings)).begin() as s:
        if args.org and orgs.member(s, args.org, args.user) is None:
            print(f"meterline api login-link: {args.user} is not a member of {args.org}", file=sys.stderr)
            return 2
        link = web_sessions.create_link(s, args.user, args.org, web_sessions.OPERATOR, now, link_ttl(settings))
    out = {"url": login_url(settings, link.token), "user_id": args.user, "organization_id": args.org}
    out["expires_at"] = link.expires_at.isoformat()
    if args.json:
        emit_json(out)
    else:
        print(out["url"])
        print(f"signs in once as {args.user}{' in ' + args.org if args.org else ''}, until {out['expires_at']}")
    return 0


def _billing_details(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from streams.api.models import BillingAddress, OrganizationUpdate
    from streams.store.db import sessions
    from streams.store.models import Organization

    given: dict[str, Any] = {k: getattr(args, k) for k in ("billing_email", "tax_id") if getattr(args, k)}
    parts = {k: getattr(args, k) for k in ("line1", "line2", "city", "postal_code", "region", "country")}
    if any(parts.values()):
        given["billing_address"] = {k: v for k, v in parts.items() if v}
    try:
        update = OrganizationUpdate.model_validate(given) if given else None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        print(f"meterline api billing-details: {where}: {first['msg']}", file=sys.stderr)
        return 2
    with sessions(_engine(load_settings())).begin() as s:
        org = s.get(Organization, args.org)
        if org is None:
            print(f"meterline api billing-details: no organization {args.org}", file=sys.stderr)
            return 2
        if update is not None:
            if "billing_email" in update.model_fields_set:
                org.billing_email = update.billing_email
            if update.billing_address is not None:
                org.billing_address = update.billing_address.model_dump(exclude_none=True)
            if "tax_id" in update.model_fields_set:
                org.tax_id = update.tax_id
            org.updated_at = datetime.now(UTC)
        address = BillingAddress.model_validate(org.billing_address) if org.billing_address else None
        out = {
            "organization_id": org.id,
            "name": org.name,
            "billing_email": org.billing_email,
            "billing_address": address.model_dump() if address else None,
            "tax_id": org.tax_id,
        }
    if args.json:
        emit_json(out)
    else:
        for key, value in out.items():
            print(f"{key}: {value if value is not None else '-'}")
    return 0


def _openapi(args: argparse.Namespace) -> int:
    import orjson

    from streams.api.app import build_openapi

    text = orjson.dumps(build_openapi(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0
