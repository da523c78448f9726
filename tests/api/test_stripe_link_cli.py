"""The operator's Stripe commands refuse a Stripe customer whose ``metadata.account_id`` does not name the
account (issue 13), end to end through ``meterline`` against stripe-mock (whose customers name none)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from streams.cli.main import main
from streams.store.models import StripeCustomer, Subscription

pytestmark = pytest.mark.integration


async def test_link_stripe_refuses_a_customer_of_no_account(
    make_api: Callable[..., Any], store_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with make_api(now=datetime(2026, 6, 10, 12, tzinfo=UTC)) as api:
        org = await api.org("olga")
        r = await api.client.post(
            "/api/billing/subscriptions/create", json={"tier": "standard"}, headers=api.as_user("olga", org)
        )
        sid = r.json()["id"]
        monkeypatch.setenv("METERLINE_API_DATABASE_URL", store_url)
        rc = main(["subscriptions", "link-stripe", "--subscription", sid, "--customer", "cus_someone"])
        assert rc == 2
        assert f"metadata.account_id names no account, not {org}" in capsys.readouterr().err
        rc = main(["subscriptions", "link-stripe", "--subscription", "msub_0000000000000000", "--customer", "cus_x"])
        assert (rc, "no subscription msub_0000000000000000" in capsys.readouterr().err) == (2, True)
        with api.ctx.sessions() as s:
            assert s.get_one(Subscription, sid).stripe_customer_id is None
            assert s.scalar(select(func.count()).select_from(StripeCustomer)) == 0


def test_put_refuses_a_stripe_customer_of_another_account(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["subscriptions", "put", "--account", "acme", "--kind", "org", "--tier", "standard"]
    assert main([*argv, "--stripe-customer", "cus_123"]) == 2  # refused before anything is published
    assert "metadata.account_id names no account, not acme" in capsys.readouterr().err
