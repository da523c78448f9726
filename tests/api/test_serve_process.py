"""``meterline api bootstrap`` and ``meterline api serve`` as real processes (uvicorn), on the default SQLite
store and on PostgreSQL (METERLINE_API_DATABASE_URL): a subscription created over HTTP reaches
billing.subscriptions through the running outbox relay; SIGTERM stops it."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from streams.settings import Settings
from streams.subscriptions.registry import load_registry
from streams.topics import SUBSCRIPTIONS
from tests.support.processes import Proc, free_port, settings_env, wait_for_api

pytestmark = pytest.mark.integration


async def test_serve_bootstrap_and_publish(stack_settings: Settings, tmp_path: Path, store_url: str) -> None:
    settings = stack_settings.model_copy(update={"data_dir": tmp_path})
    env = settings_env(settings, METERLINE_STRIPE_WEBHOOK_SECRET="whsec_proc_test")
    sqlite = store_url.startswith("sqlite")
    if sqlite:  # the default store, <data_dir>/billing.db (store_url's own file)
        env.pop("METERLINE_API_DATABASE_URL", None)
    else:
        env["METERLINE_API_DATABASE_URL"] = store_url
    out = subprocess.run(
        [sys.executable, "-m", "streams.cli.main", "api", "bootstrap", "--name", "Proc Co", "--owner", "pat", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    boot = json.loads(out.stdout)
    assert (tmp_path / "billing.db").exists() == sqlite
    port = free_port()
    proc = Proc(["api", "serve", "--port", str(port)], env, tmp_path / "api.log")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_api(base, proc)
        headers = {"authorization": f"Bearer {boot['api_key']}"}
        async with httpx.AsyncClient(base_url=base, timeout=10) as c:
            assert (await c.get("/api/billing/openapi.json")).json()["info"]["title"] == "Meterline billing API"
            r = await c.post("/api/billing/subscriptions/create", json={"tier": "enterprise"}, headers=headers)
            assert r.status_code == 201, r.text
            org = boot["organization_id"]
            topic = settings.topic(SUBSCRIPTIONS)
            for _ in range(100):
                history = (await load_registry(settings.kafka_bootstrap, topic)).history(org)
                if history is not None:
                    break
                await asyncio.sleep(0.2)
            assert history is not None and history.versions[-1].tier == "enterprise"
            r = await c.post("/api/billing/webhooks/stripe", content=b"{}", headers={"stripe-signature": "t=1,v1=00"})
            assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_signature")
    finally:
        # uvicorn shuts down gracefully, then re-raises the captured SIGTERM (exit status -15).
        assert proc.terminate() in (0, -15), proc.tail()
        assert "Traceback" not in proc.log.read_text(errors="replace"), proc.tail()
