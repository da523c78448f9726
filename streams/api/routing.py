"""Endpoints declared once as data: the Starlette routes and the OpenAPI document both come from them.

A handler is a plain function of a ``Call`` (run in a worker thread: the store and ClickHouse are
blocking clients); it returns a pydantic model or raises ``ApiError``. The dispatcher validates path
ids, query and body against the declared models first, so a handler only sees well-formed input.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from streams.api.errors import JSON, ApiError
from streams.api.models import Error, dump
from streams.api.store_cache import INLINE, NeedsStore

if TYPE_CHECKING:
    from streams.api.context import ApiContext


@dataclass
class Call:
    request: Request
    ctx: ApiContext
    path: dict[str, str]
    body: Any
    query: Any
    raw: bytes


#: A handler returns a model (rendered as JSON with the endpoint's status), a ready ``Response`` (another media
#: type, or a status of its own: see ``Endpoint.media``), or None (204).
Handler = Callable[[Call], BaseModel | Response | None]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # with {name} parameters, as Starlette and OpenAPI write them
    handler: Handler
    summary: str
    tag: str
    response: type[BaseModel] | None
    status: int = 200
    body: type[BaseModel] | None = None
    body_optional: bool = False
    query: type[BaseModel] | None = None
    path_params: dict[str, str] = field(default_factory=dict)  # name -> regex
    errors: tuple[int, ...] = (401, 403, 404)
    public: bool = False
    raw_body: bool = False  # the handler reads ``Call.raw`` itself (webhooks)
    description: str = ""
    #: other media types of the success answer (media type -> OpenAPI schema), e.g. a PDF rendition
    media: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: the success answer is only one of ``media`` (no JSON model)
    media_only: bool = False
    #: first run the handler on the event loop, from the in-memory caches only (streams/api/store_cache.py);
    #: a miss (``NeedsStore``) runs it again in a worker thread. For read-only handlers only.
    inline: bool = False


async def _run(ep: Endpoint, call: Call) -> BaseModel | Response | None:
    """The handler on the event loop first when it may answer from memory, else in a worker thread."""
    if ep.inline:
        token = INLINE.set(True)
        try:
            return ep.handler(call)
        except NeedsStore:
            pass
        finally:
            INLINE.reset(token)
    return await anyio.to_thread.run_sync(ep.handler, call, limiter=call.ctx.limiter)


def _validation_message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in first.get("loc", ())) or "body"
    return f"{loc}: {first.get('msg', 'invalid')}"


def _dispatcher(ep: Endpoint, ctx: ApiContext) -> Callable[[Request], Any]:
    patterns = {name: re.compile(rx) for name, rx in ep.path_params.items()}

    async def dispatch(request: Request) -> Response:
        path = {k: str(v) for k, v in request.path_params.items()}
        for name, rx in patterns.items():
            if not rx.fullmatch(path.get(name, "")):
                raise ApiError(400, "malformed_id", f"{name} {path.get(name)!r} is not a well-formed id")
        query = None
        if ep.query is not None:
            try:
                query = ep.query.model_validate(dict(request.query_params))
            except ValidationError as exc:
                raise ApiError(422, "invalid_request", f"query {_validation_message(exc)}") from exc
        raw = await request.body()
        body = None
        if ep.body is not None and not ep.raw_body:
            if not raw.strip() and ep.body_optional:
                body = ep.body()
            else:
                ctype = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
                if ctype != "application/json":
                    raise ApiError(415, "unsupported_media_type", "send the body as application/json")
                try:
                    body = ep.body.model_validate_json(raw)
                except ValidationError as exc:
                    raise ApiError(422, "invalid_request", _validation_message(exc)) from exc
        call = Call(request, ctx, path, body, query, raw)
        result = await _run(ep, call)
        if result is None:
            return Response(status_code=204)
        if isinstance(result, Response):
            return result
        return JSON(dump(result), status_code=ep.status)

    return dispatch


def routes(endpoints: Sequence[Endpoint], ctx: ApiContext) -> list[Route]:
    by_path: dict[str, list[Endpoint]] = {}
    for ep in endpoints:
        by_path.setdefault(ep.path, []).append(ep)
    out = []
    # Paths with an inline endpoint first: Starlette tries routes in order, and the gateway's check is the
    # most frequent request (no other path matches theirs, so nothing else changes).
    ordered = sorted(by_path.items(), key=lambda item: not any(ep.inline for ep in item[1]))
    for path, eps in ordered:
        handlers = {ep.method: _dispatcher(ep, ctx) for ep in eps}

        def make(h: dict[str, Callable[[Request], Any]]) -> Callable[[Request], Any]:
            async def route(request: Request) -> Response:
                fn = h.get(request.method)
                if fn is None:
                    raise ApiError(405, "method_not_allowed", f"{request.method} is not allowed here")
                resp: Response = await fn(request)
                return resp

            return route

        out.append(Route(path, make(handlers), methods=sorted(handlers)))
    return out


# -- OpenAPI ----------------------------------------------------------------------------------------------

_REF = "#/components/schemas/{model}"
_REASONS = {
    400: "malformed id or request",
    401: "missing, unknown, revoked or expired credentials",
    403: "the caller's role may not do this",
    404: "not found, or not visible to the caller",
    402: "the payment was declined",
    409: "the state does not allow this: a subscription transition, an invoice paid already... (the code says why)",
    413: "body larger than the limit",
    415: "body not application/json",
    422: "invalid body or query (the message names the field)",
    429: "too many requests: the tier's API calls a minute, failed credentials from this address, an account's "
    "payment requests or drafts a minute, or its open live streams (Retry-After)",
    500: "internal error",
    503: "a backing service (ClickHouse, Kafka) is unavailable: retry",
}


def _error(status: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "description": _REASONS.get(status, "error"),
        "content": {"application/json": {"schema": {"$ref": _REF.format(model="Error")}}},
    }
    if status == 429:
        out["headers"] = {
            "Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "integer"}}
        }
    return out


def _query_params(model: type[BaseModel], defs: dict[str, Any]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=_REF, by_alias=True)
    defs.update(schema.pop("$defs", {}))
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        desc = prop.pop("description", None)
        prop.pop("title", None)
        p: dict[str, Any] = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if desc:
            p["description"] = desc
        params.append(p)
    return params


def openapi(endpoints: Sequence[Endpoint], info: dict[str, Any]) -> dict[str, Any]:
    models: list[tuple[type[BaseModel], Any]] = [(Error, "serialization")]
    for ep in endpoints:
        if ep.body is not None:
            models.append((ep.body, "validation"))
        if ep.response is not None:
            models.append((ep.response, "serialization"))
    _, top = models_json_schema(models, ref_template=_REF, by_alias=True)
    defs: dict[str, Any] = dict(top.get("$defs", {}))
    paths: dict[str, Any] = {}
    for ep in endpoints:
        op: dict[str, Any] = {
            "operationId": ep.handler.__name__,
            "summary": ep.summary,
            "tags": [ep.tag],
            "responses": {},
        }
        if ep.description:
            op["description"] = ep.description
        params = [
            {"name": n, "in": "path", "required": True, "schema": {"type": "string", "pattern": rx}}
            for n, rx in ep.path_params.items()
        ]
        if ep.query is not None:
            params += _query_params(ep.query, defs)
        if params:
            op["parameters"] = params
        if ep.body is not None:
            op["requestBody"] = {
                "required": not ep.body_optional,
                "content": {"application/json": {"schema": {"$ref": _REF.format(model=ep.body.__name__)}}},
            }
        elif ep.raw_body:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
        if ep.response is not None or ep.media:
            content: dict[str, Any] = {}
            if ep.response is not None and not ep.media_only:
                content["application/json"] = {"schema": {"$ref": _REF.format(model=ep.response.__name__)}}
            content.update({media: {"schema": schema} for media, schema in ep.media.items()})
            op["responses"][str(ep.status)] = {"description": ep.summary, "content": content}
        else:
            op["responses"][str(ep.status)] = {"description": ep.summary}
        statuses = set(ep.errors) | {500, 429}  # 429: every caller is throttled (see streams/api/limits.py)
        if ep.path_params:
            statuses.add(400)
        if ep.query is not None or ep.body is not None:
            statuses.add(422)
        if ep.body is not None:
            statuses |= {413, 415}
        for st in sorted(statuses):
            op["responses"][str(st)] = _error(st)
        if ep.public:
            op["security"] = []
        paths.setdefault(ep.path, {})[ep.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": info,
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "an organization API key (mlb_...) or a platform JWT (HS256; sub, org, exp)",
                }
            },
            "schemas": dict(sorted(defs.items())),
        },
        "security": [{"bearer": []}],
        "paths": paths,
    }
