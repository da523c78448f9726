from __future__ import annotations

from pathlib import Path

import orjson

from schemas.json_schema import usage_event_schema

ROOT = Path(__file__).resolve().parents[3]


def test_committed_schema_matches_the_model() -> None:
    committed = orjson.loads((ROOT / "schemas" / "usage_event.schema.json").read_bytes())
    assert committed == usage_event_schema(), "run: meterline schema export --out schemas/usage_event.schema.json"


def test_schema_names_every_metric_and_required_field() -> None:
    s = usage_event_schema()
    assert s["$defs"]["Metric"]["enum"] == ["api_calls", "ai_requests", "storage_gb", "premium_feature", "active_user"]
    assert set(s["$defs"]["UsageEvent"]["required"]) == {
        "event_id",
        "timestamp",
        "user_id",
        "metric",
        "quantity",
        "source",
    }


def test_committed_openapi_matches_the_served_one() -> None:
    from streams.ingest.openapi import OPENAPI

    assert orjson.loads((ROOT / "docs" / "openapi-ingest.json").read_bytes()) == OPENAPI
