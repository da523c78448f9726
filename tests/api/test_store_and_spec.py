"""The OpenAPI document served is the one committed and documents every route and the error shape (the
store itself, on SQLite and PostgreSQL: test_store_backends.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from streams.api.app import ENDPOINTS, OPENAPI_PATH, build_openapi

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_openapi_document_is_the_served_one() -> None:
    committed = orjson.loads((ROOT / "docs" / "openapi-billing.json").read_bytes())
    assert committed == build_openapi(), "run: meterline api openapi --output docs/openapi-billing.json"


async def test_openapi_is_served_and_documents_every_route(make_api: Callable[..., Any]) -> None:
    async with make_api() as api:
        served = (await api.client.get(OPENAPI_PATH)).json()
    assert served == build_openapi()
    for ep in ENDPOINTS:
        op = served["paths"][ep.path][ep.method.lower()]
        assert str(ep.status) in op["responses"]
        for status, resp in op["responses"].items():
            if int(status) >= 400:
                assert resp["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
        assert "500" in op["responses"]
    assert set(served["paths"]) == {ep.path for ep in ENDPOINTS}
