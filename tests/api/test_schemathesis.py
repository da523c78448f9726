"""schemathesis against the served OpenAPI document of a real uvicorn server, its store on SQLite and on
PostgreSQL: generated requests (with an admin API key) never get a 500, and every answer matches the
documented statuses and schemas."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from pydantic import SecretStr
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy.engine import make_url

from streams.api.app import OPENAPI_PATH, create_app
from streams.api.warehouse import Warehouse
from streams.settings import Settings
from streams.store import orgs
from tests.support.api import CH_DB, JWT_SECRET, WEBHOOK_SECRET
from tests.support.processes import free_port

pytestmark = pytest.mark.integration

# Generated cases per operation and store: the two stores' runs draw different cases, 40 per operation in
# all, in about the time 40 on SQLite alone took (a ``-k 'not postgresql'`` run fuzzes with 20).
EXAMPLES = 20


@pytest.fixture(scope="module")
def served(
    stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory, warehouse: Warehouse, module_store_url: str
) -> Iterator[dict[str, Any]]:
    """One server per store (``[sqlite]``, ``[postgresql]``), shared by the module's tests."""
    settings = stack_settings.model_copy(
        update={
            "data_dir": tmp_path_factory.mktemp("api-fuzz"),
            "api_database_url": SecretStr(module_store_url),
            "api_jwt_secret": SecretStr(JWT_SECRET),
            "stripe_webhook_secret": SecretStr(WEBHOOK_SECRET),
            "clickhouse_database": CH_DB,
            # The fuzzer's invalid credentials (more with every operation) must not throttle the checks after
            # it; the throttle has its own tests (test_auth_hardening.py).
            "auth_failures_per_minute": 0,
        }
    )
    app = create_app(settings, warehouse=warehouse, follow_quota=False, run_relay=False)
    assert app.state.engine.dialect.name == make_url(module_store_url).get_backend_name()
    with app.state.ctx.sessions.begin() as s:
        org = orgs.create_organization(s, "Fuzz", "fuzzer", datetime.now(UTC))
        _, key = orgs.create_api_key(s, org.id, "fuzz", "admin", datetime.now(UTC))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            spec = httpx.get(f"{base}{OPENAPI_PATH}", timeout=1).json()
            break
        except httpx.HTTPError:
            assert time.monotonic() < deadline, "the API did not start"
            time.sleep(0.1)
    yield {"base": base, "spec": spec, "auth": {"Authorization": f"Bearer {key}"}, "org": org.id}
    server.should_exit = True
    thread.join(30)


def test_api_conforms_to_its_openapi(served: dict[str, Any]) -> None:
    """Every operation, ``EXAMPLES`` generated cases each on each store (schemathesis' pytest plugin does
    not run on pytest 9: the operations are driven through hypothesis directly)."""
    schema = schemathesis.openapi.from_dict(served["spec"])
    failures = []
    operations = 0
    for result in schema.get_all_operations():
        operations += 1
        if isinstance(result, Err):
            failures.append(f"an operation of the document is invalid: {result.err()}"[:2000])
            continue
        op = result.ok()

        @given(case=op.as_strategy())
        @hsettings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            # Business rules (an unknown tier, a user who is not a member) reject schema-valid bodies by
            # design: every other check runs (no 500, documented statuses, schemas, content types).
            case.call_and_validate(
                base_url=served["base"], headers=served["auth"], excluded_checks=[positive_data_acceptance]
            )

        try:
            run()
        except Exception as exc:
            failures.append(f"{op.label}: {exc}"[:2000])
    assert operations == sum(len(v) for v in served["spec"]["paths"].values())
    assert not failures, "\n\n".join(failures)


def test_the_fuzzed_server_kept_its_data(served: dict[str, Any]) -> None:
    r = httpx.get(f"{served['base']}/api/billing/organizations/{served['org']}", headers=served["auth"])
    assert r.status_code == 200
