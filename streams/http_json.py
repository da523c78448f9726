"""What both HTTP front ends (ingest ``/v1/events`` and the billing API) answer with: orjson bodies,
and one error shape, ``{"error": {"code", "message"}}``, for every 4xx and 5xx."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse, Response


class JSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSON({"error": {"code": code, "message": message}}, status_code=status, headers=headers)
