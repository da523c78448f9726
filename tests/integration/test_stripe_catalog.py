"""``sync_catalog`` against stripe-mock, real HTTP through the ``stripe`` package.

stripe-mock validates every request against Stripe's OpenAPI spec but is stateless: it answers lists with
the same canned objects whatever was created. The ``Recorder`` below wraps the package's HTTP client,
records every request (method, path, form parameters, Idempotency-Key) and, when ``stateful``, keeps the
objects created or changed (stripe-mock's answer overlaid with the parameters sent, since it only echoes
top-level scalars) and answers list calls with them, so a second run sees what the first one made. Every
request still goes to stripe-mock first.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest
import stripe

from rating.catalog.loader import load_catalog
from rating.catalog.model import CatalogVersion
from sinks.errors import SinkError
from sinks.retry import RetryPolicy
from sinks.stripe.catalog import StripeCatalogUnavailable, SyncReport, sync_catalog
from sinks.stripe.catalog_spec import StripeCatalogError, desired_catalog
from streams.cli.main import main
from streams.settings import Settings
from tests.support.stripe_forms import Call, read_request

pytestmark = pytest.mark.integration
COLLECTIONS = {"/v1/billing/meters": "meters", "/v1/products": "products", "/v1/prices": "prices"}
FAST = RetryPolicy(initial=0.001, maximum=0.01, max_attempts=6)


def _merge(base: dict[str, Any], update: dict[str, Any]) -> None:
    for k, v in update.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            _merge(base[k], v)
        else:
            base[k] = v


def _typed(params: dict[str, Any]) -> dict[str, Any]:
    """Form values are strings; put back the types Stripe answers with."""
    out = copy.deepcopy(params)
    for k in ("active", "transfer_lookup_key"):
        if k in out:
            out[k] = out[k] == "true"
    if "interval_count" in out.get("recurring", {}):
        out["recurring"]["interval_count"] = int(out["recurring"]["interval_count"])
    out.pop("transfer_lookup_key", None)
    return out


class Recorder(stripe.HTTPClient):
    name = "recorder"

    def __init__(self, *, stateful: bool = True, faults: dict[str, int] | None = None) -> None:
        super().__init__()
        self.inner = stripe.new_default_http_client()
        self.stateful = stateful
        self.calls: list[Call] = []
        self.objects: dict[str, dict[str, dict[str, Any]]] = {"meters": {}, "products": {}, "prices": {}}
        # status -> how many POSTs to answer with it (before reaching stripe-mock), then pass through
        self.faults = dict(faults or {})

    # what the tests look at

    def posts(self) -> list[Call]:
        return [c for c in self.calls if c.method == "post"]

    def creates(self, collection: str) -> list[Call]:
        return [c for c in self.posts() if c.path == collection and c.status == 200]

    # the HTTP client

    def request(
        self, method: str, url: str, headers: Any, post_data: Any = None, *, _usage: Any = None
    ) -> tuple[Any, int, Any]:
        path, params, key = read_request(method, url, headers, post_data)
        for code, left in self.faults.items():
            if method == "post" and left > 0:
                self.faults[code] = left - 1
                self.calls.append(Call(method, path, params, key, int(code)))
                err = {"error": {"message": "injected", "type": "api_error"}}
                return json.dumps(err), int(code), {}
        content, status, rheaders = self.inner.request(method, url, headers, post_data)
        self.calls.append(Call(method, path, params, key, status))
        if self.stateful and status == 200:
            content = self._stateful(method, path, params, content)
        return content, status, rheaders

    def _stateful(self, method: str, path: str, params: dict[str, Any], content: Any) -> Any:
        answer = json.loads(content)
        if method == "get" and path in COLLECTIONS:
            objs = list(self.objects[COLLECTIONS[path]].values())
            if path == "/v1/prices":
                objs = [o for o in objs if o.get("lookup_key") in params.get("lookup_keys", [])]
            return json.dumps({**answer, "data": objs, "has_more": False})
        if method != "post":
            return content
        if path in COLLECTIONS:  # create
            obj = answer
            _merge(obj, _typed(params))
            if path == "/v1/prices" and params.get("transfer_lookup_key") == "true":
                for other in self.objects["prices"].values():
                    if other.get("lookup_key") == obj.get("lookup_key"):
                        other["lookup_key"] = None
            self.objects[COLLECTIONS[path]][obj["id"]] = obj
            return json.dumps(obj)
        m = re.fullmatch(r"(/v1/(?:billing/meters|products|prices))/([^/]+)(/reactivate|/deactivate)?", path)
        if m and m.group(2) in self.objects[COLLECTIONS[m.group(1)]]:
            obj = self.objects[COLLECTIONS[m.group(1)]][m.group(2)]
            if m.group(3):
                obj["status"] = "active" if m.group(3) == "/reactivate" else "inactive"
            else:
                _merge(obj, _typed(params))
            return json.dumps(obj)
        return content


@pytest.fixture(scope="module")
def catalog() -> CatalogVersion:
    return load_catalog().at(datetime(2026, 11, 1, tzinfo=UTC))


@pytest.fixture
def base(stack: Settings) -> Iterator[str]:
    yield stack.resolved_stripe_api_base


def client(base: str, recorder: Recorder) -> stripe.StripeClient:
    return stripe.StripeClient("sk_test_123", base_addresses={"api": base}, http_client=recorder, max_network_retries=0)


def sync(base: str, rec: Recorder, catalog: CatalogVersion, **kw: Any) -> SyncReport:
    return sync_catalog(client(base, rec), catalog, policy=FAST, sleep=lambda _: None, **kw)


def counts(created: int = 0, updated: int = 0, unchanged: int = 0) -> dict[str, int]:
    return {"created": created, "updated": updated, "unchanged": unchanged}


def test_first_sync_creates_everything_with_idempotency_keys(base: str, catalog: CatalogVersion) -> None:
    """Against plain stripe-mock: its canned objects (a T-shirt, 'test-meter-event-name', a price
    without a lookup key) are not ours, so everything is created."""
    rec = Recorder(stateful=False)
    report = sync(base, rec, catalog)
    assert report.counts() == {"meter": counts(5), "product": counts(7), "price": counts(7)}
    posts = rec.posts()
    assert len(posts) == 19 and all(c.status == 200 for c in posts)
    keys = [c.idempotency_key for c in posts]
    assert all(k and k.startswith("meterline-catalog-") for k in keys) and len(set(keys)) == len(keys)

    meters = rec.creates("/v1/billing/meters")
    assert [m.params["event_name"] for m in meters] == [m.event_name for m in desired_catalog(catalog).meters]
    for m in meters:
        assert m.params["default_aggregation"] == {"formula": "sum"}
        assert m.params["event_time_window"] == "hour"
        assert m.params["customer_mapping"] == {"type": "by_id", "event_payload_key": "stripe_customer_id"}
        assert m.params["value_settings"] == {"event_payload_key": "value"}
    meter_ids = {a.key: a.stripe_id for a in report.actions if a.kind == "meter"}
    product_ids = {a.key: a.stripe_id for a in report.actions if a.kind == "product"}
    assert all(i.startswith("meter_") for i in meter_ids.values())

    products = rec.creates("/v1/products")
    assert [p.params["metadata"]["meterline_key"] for p in products] == list(product_ids)
    assert products[0].params["name"] == "Standard plan"

    prices = {p.params["lookup_key"]: p.params for p in rec.creates("/v1/prices")}
    month, year = prices["meterline_standard_base_month"], prices["meterline_standard_base_year"]
    assert month["unit_amount_decimal"] == "4999" and year["unit_amount_decimal"] == "49990"
    assert month["recurring"] == {"interval": "month", "interval_count": "1", "usage_type": "licensed"}
    assert year["recurring"]["interval"] == "year"
    assert month["product"] == year["product"] == product_ids["meterline_tier_standard"]
    amounts = {
        "meterline_api_calls_overage": "1",
        "meterline_storage_overage": "0.01",
        "meterline_premium_deep_research": "50",
        "meterline_premium_document_analysis": "5",
        "meterline_premium_voice_synthesis": "20",
    }
    for key, amount in amounts.items():
        p = prices[key]
        assert p["unit_amount_decimal"] == amount and "unit_amount" not in p
        assert p["recurring"] == {
            "interval": "month",
            "interval_count": "1",
            "usage_type": "metered",
            "meter": meter_ids[key],
        }
        assert p["product"] == product_ids[key] and p["currency"] == "usd"
        assert p["transfer_lookup_key"] == "true" and p["metadata"] == {"meterline_key": key}


def test_second_run_finds_everything_and_writes_nothing(base: str, catalog: CatalogVersion) -> None:
    rec = Recorder()
    first = sync(base, rec, catalog)
    assert first.changed
    rec.calls.clear()
    second = sync(base, rec, catalog)
    assert second.counts() == {
        "meter": counts(unchanged=5),
        "product": counts(unchanged=7),
        "price": counts(unchanged=7),
    }
    assert not second.changed and rec.posts() == []
    assert {c.path for c in rec.calls} == {"/v1/billing/meters", "/v1/products", "/v1/prices"}
    # the same objects, found by event name, metadata and lookup key
    assert [a.stripe_id for a in second.actions] == [a.stripe_id for a in first.actions]


def test_drift_is_updated_in_place(base: str, catalog: CatalogVersion) -> None:
    rec = Recorder()
    first = {(a.kind, a.key): a.stripe_id for a in sync(base, rec, catalog).actions}
    meter = rec.objects["meters"][first["meter", "meterline_storage_overage"]]
    meter.update(status="inactive", display_name="old name")
    product = rec.objects["products"][first["product", "meterline_tier_standard"]]
    product.update(name="Standard (old)", active=False)
    price = rec.objects["prices"][first["price", "meterline_premium_deep_research"]]
    price.update(nickname="renamed by hand", active=False)
    rec.calls.clear()

    report = sync(base, rec, catalog)
    assert report.counts() == {
        "meter": counts(updated=1, unchanged=4),
        "product": counts(updated=1, unchanged=6),
        "price": counts(updated=1, unchanged=6),
    }
    changes = {(a.kind, a.key): a.changes for a in report.actions if a.outcome == "updated"}
    assert changes == {
        ("meter", "meterline_storage_overage"): ("status", "display_name"),
        ("product", "meterline_tier_standard"): ("active", "name"),
        ("price", "meterline_premium_deep_research"): ("active", "nickname"),
    }
    posts = rec.posts()
    assert not [c for c in posts if c.path in COLLECTIONS], "an update, never a new object"
    mid, pid, prid = meter["id"], product["id"], price["id"]
    assert [(c.path, c.params) for c in posts] == [
        (f"/v1/billing/meters/{mid}/reactivate", {}),
        (f"/v1/billing/meters/{mid}", {"display_name": "Storage over the included quantity"}),
        (f"/v1/products/{pid}", {"name": "Standard plan", "active": "true"}),
        (f"/v1/prices/{prid}", {"nickname": "Premium feature deep_research, per use", "active": "true"}),
    ]
    assert all(c.idempotency_key for c in posts)
    # and now it is all in order
    rec.calls.clear()
    assert not sync(base, rec, catalog).changed and rec.posts() == []


def test_a_changed_amount_replaces_the_price_and_moves_its_lookup_key(base: str, catalog: CatalogVersion) -> None:
    rec = Recorder()
    first = {(a.kind, a.key): a.stripe_id for a in sync(base, rec, catalog).actions}
    old_id = first["price", "meterline_standard_base_month"]
    std = catalog.tiers["standard"]
    std = std.model_copy(update={"base_fee": {**std.base_fee, "month": Decimal("59.99")}})
    newer = catalog.model_copy(update={"version": "2027-01", "tiers": {**catalog.tiers, "standard": std}})
    rec.calls.clear()

    report = sync(base, rec, newer)
    assert report.counts()["price"] == counts(created=1, unchanged=6)
    [action] = [a for a in report.actions if a.outcome != "unchanged"]
    assert action.key == "meterline_standard_base_month"
    assert action.changes == ("unit_amount_decimal", f"replaces {old_id}")
    create, archive = rec.posts()
    assert create.path == "/v1/prices" and create.params["unit_amount_decimal"] == "5999"
    assert create.params["lookup_key"] == "meterline_standard_base_month"
    assert create.params["transfer_lookup_key"] == "true"
    assert (archive.path, archive.params) == (f"/v1/prices/{old_id}", {"active": "false"})
    assert create.idempotency_key and archive.idempotency_key
    assert rec.objects["prices"][old_id]["lookup_key"] is None
    assert rec.objects["prices"][action.stripe_id]["lookup_key"] == "meterline_standard_base_month"


def test_a_meter_stripe_cannot_change_stops_the_sync_before_any_write(base: str, catalog: CatalogVersion) -> None:
    rec = Recorder()
    rec.objects["meters"]["mtr_daily"] = {
        "id": "mtr_daily",
        "object": "billing.meter",
        "event_name": "meterline_api_calls_overage",
        "display_name": "API calls over the included quantity",
        "status": "active",
        "event_time_window": "day",
        "default_aggregation": {"formula": "sum"},
        "customer_mapping": {"type": "by_id", "event_payload_key": "stripe_customer_id"},
        "value_settings": {"event_payload_key": "value"},
    }
    with pytest.raises(StripeCatalogError, match="event_time_window='day'"):
        sync(base, rec, catalog)
    assert rec.posts() == []


def test_transient_errors_are_retried_with_the_same_idempotency_key(base: str, catalog: CatalogVersion) -> None:
    rec = Recorder(stateful=False, faults={"429": 2, "500": 2})
    report = sync(base, rec, catalog)
    assert report.counts()["meter"] == counts(5)
    posts = rec.posts()
    assert [c.status for c in posts[:5]] == [429, 429, 500, 500, 200]
    assert len({c.idempotency_key for c in posts[:5]}) == 1, "the retries repeat the same write"
    assert len(posts) == 19 + 4


def test_a_refused_write_is_final(base: str, catalog: CatalogVersion) -> None:
    rec = Recorder(stateful=False, faults={"400": 1})
    with pytest.raises(StripeCatalogError, match="injected") as err:
        sync(base, rec, catalog)
    assert isinstance(err.value, SinkError) and not err.value.retriable
    assert len(rec.posts()) == 1


def test_out_of_attempts_is_unavailable(base: str, catalog: CatalogVersion) -> None:
    rec = Recorder(stateful=False, faults={"503": 10})
    with pytest.raises(StripeCatalogUnavailable) as err:
        sync(base, rec, catalog)
    assert err.value.retriable and len(rec.posts()) == FAST.max_attempts


def test_dry_run_writes_nothing(base: str, catalog: CatalogVersion) -> None:
    rec = Recorder()
    report = sync(base, rec, catalog, dry_run=True)
    assert report.dry_run and report.counts()["price"] == counts(7)
    assert rec.posts() == [] and rec.calls


def test_cli_sync_catalog_json(stack: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stripe", "sync-catalog", "--json", "--at", "2026-11-01T00:00:00Z"]) == 0
    doc = orjson.loads(capsys.readouterr().out)
    assert doc["catalog_version"] == "2026-01" and doc["dry_run"] is False
    assert doc["counts"] == {"meter": counts(5), "product": counts(7), "price": counts(7)}
    assert main(["stripe", "sync-catalog", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "meterline_standard_base_month" in out and "dry run" in out


def test_a_create_resent_by_a_later_run_carries_the_same_key(base: str, catalog: CatalogVersion) -> None:
    """After a crash between Stripe's create and our reading the answer, the next run re-sends the same
    create with the same key (Stripe answers with the object made the first time, within 24 hours)."""
    runs = []
    for _ in range(2):
        rec = Recorder(stateful=False)
        sync(base, rec, catalog)
        runs.append([c.idempotency_key for c in rec.creates("/v1/billing/meters") + rec.creates("/v1/products")])
    assert runs[0] == runs[1] and len(runs[0]) == 12
