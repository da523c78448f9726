"""The API's one error shape, ``{"error": {"code", "message"}}``, for every 4xx and 5xx."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from sinks.clickhouse.usage_queries import WarehouseUnavailable
from streams.http_json import JSON as JSON  # re-exported: the routes answer with it
from streams.http_json import error_response as error_response

log = logging.getLogger(__name__)

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    500: "internal_error",
    503: "unavailable",
}


class ApiError(Exception):
    """Raised by handlers; rendered as the error shape with ``status``."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


async def on_api_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.headers)


async def on_http_exception(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _STATUS_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) and exc.detail else code.replace("_", " ")
    return error_response(exc.status_code, code, message, dict(exc.headers) if exc.headers else None)


async def on_warehouse_unavailable(_: Request, exc: Exception) -> Response:
    """The message of a ``WarehouseUnavailable`` holds no driver text (see ``sinks/clickhouse/usage_queries.py``)."""
    return error_response(503, "warehouse_unavailable", str(exc), {"Retry-After": "5"})


async def on_unexpected(_: Request, exc: Exception) -> Response:
    log.exception("unhandled error in the billing API", exc_info=exc)
    return error_response(500, "internal_error", "internal error (logged)")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    ApiError: on_api_error,
    HTTPException: on_http_exception,
    WarehouseUnavailable: on_warehouse_unavailable,
    Exception: on_unexpected,
}


@contextmanager
def refused_as_invalid() -> Iterator[None]:
    """A store function's ValueError (its reason, written for the caller) as a 422."""
    try:
        yield
    except ValueError as exc:
        raise ApiError(422, "invalid_request", str(exc)) from exc
