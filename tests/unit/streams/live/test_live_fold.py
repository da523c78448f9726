"""The live stage's fast path (``fold_step``) against the reference (``rate_batch``, built on ``rating/``).

Generated steps carry what makes rating hard: quantities crossing included quotas and hard caps,
tier changes and organizations stopping to bill inside an hour of the step, late events of the
previous period, storage gauges, premium features, AI requests and seats. Both paths rate the same
steps, each from its own table (entries through JSON, as the agent stores them); every output must be
equal to the digit — the same bytes for rated lines and entries.
"""

from __future__ import annotations

import random
import shutil
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from unittest.mock import patch

import msgspec
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rating.catalog.loader import load_catalog
from rating.pricing import metric_charge
from rating.subscriptions import SubscriptionVersion
from schemas.events import AcceptedEvent, epoch_ms
from streams.live import fold, native
from streams.live.fold import fold_step
from streams.live.rating import LiveOutputs, rate_batch
from streams.live.resolve import Resolver
from streams.subscriptions.registry import SubscriptionRegistry

D = Decimal
T0 = datetime(2026, 11, 1, tzinfo=UTC)
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
CATALOG = load_catalog()
TIERS = ["free", "standard", "enterprise"]
METRICS = ["api_calls", "ai_requests", "storage_gb", "premium_feature", "active_user"]
USERS = [f"u{i}" for i in range(5)]
ORGS = ["o1", "o2"]


def version(account: str, kind: str, tier: str, at: datetime, n: int, status: str = "active") -> SubscriptionVersion:
    return SubscriptionVersion(
        account_id=account,
        account_kind=kind,
        tier=tier,
        status=status,
        anchor=date(2026, 10, 1),
        effective_from=at,
        version=n,
    )


def subscriptions(rng: random.Random) -> list[SubscriptionVersion]:
    """Every account starts on some tier; some change tier (or stop billing) at a minute inside the
    hours the events fall in, so a step holds both sides of the change."""
    out = []
    for account, kind in [*((u, "user") for u in USERS), *((o, "org") for o in ORGS)]:
        out.append(version(account, kind, rng.choice(TIERS), T0 - timedelta(days=60), 1))
        if rng.random() < 0.6:
            at = NOW - timedelta(hours=rng.randrange(3), minutes=rng.randrange(1, 59))
            status = rng.choice(["active", "active", "canceled", "unpaid", "past_due"])
            out.append(version(account, kind, rng.choice(TIERS), at, 2, status))
    return out


def make_events(rng: random.Random, n: int, start: int) -> list[AcceptedEvent]:
    out = []
    for i in range(start, start + n):
        user = rng.choice(USERS)
        org = rng.choice([*ORGS, None, None])
        metric = rng.choice(METRICS)
        # Mostly the last three hours (around the tier changes); some late, in the previous period.
        at = (
            NOW - timedelta(minutes=rng.randrange(180))
            if rng.random() < 0.85
            else T0 - timedelta(hours=rng.randrange(1, 200))
        )
        props: dict[str, Any] = {}
        if metric == "ai_requests":
            props = {
                "provider": rng.choice(["openai", "anthropic", "local", "nobody"]),
                "model": rng.choice(["gpt-4o", "claude-haiku", "x"]),
                "input_tokens": rng.choice([0, 1000, 123_457, "12", None]),
                "output_tokens": rng.randrange(5000),
            }
        if metric == "premium_feature":
            props = {"feature": rng.choice(["deep_research", "document_analysis", "sso"])}
        # Quantities that cross free's 10,000 (and its hard cap) and standard's 100,000 in a few steps.
        qty = D(rng.choice([1, 7, 2500, 40_000])) if metric != "storage_gb" else D(rng.randrange(0, 12_000)) / 100
        if rng.random() < 0.1:  # sent as "2E+1": a positive exponent (the text is "20" wherever it is written)
            qty = D(f"{rng.randrange(1, 9)}E+{rng.randrange(1, 3)}")
        elif metric == "api_calls" and rng.random() < 0.2:  # other exponents: "0.50", "1.0", "2500.000"
            qty = D(rng.choice(["0.50", "1.0", "2500.000", "0.001", "39999.9999"]))
        out.append(
            AcceptedEvent(
                event_id=f"e{i}",
                ts_ms=epoch_ms(at),
                user_id=user,
                org_id=org,
                metric=metric,
                quantity=qty,
                source="test",
                properties=props,
                account_id=org or user,
            )
        )
    return out


class Path:
    """One way of rating: its own table, as the agent keeps it (entries stored as JSON bytes). With
    ``decoded``, the step is handed the entries the previous step returned, as the agent's cache of
    decoded entries does (the fast path then finds its remembered seat sets and gauge readings)."""

    def __init__(self, fn: Any, versions: list[SubscriptionVersion], decoded: bool = False) -> None:
        registry = SubscriptionRegistry()
        registry.apply(versions)
        self.fn, self.resolver = fn, Resolver(registry, CATALOG)
        self.table: dict[str, bytes] = {}
        self.decoded = decoded
        self.entries: dict[str, dict[str, Any]] = {}

    def rate(self, events: list[AcceptedEvent]) -> LiveOutputs:
        states = {
            e.account_id: self.entries.get(e.account_id)
            if self.decoded and e.account_id in self.entries
            else orjson.loads(self.table[e.account_id])
            if e.account_id in self.table
            else None
            for e in events
        }
        out: LiveOutputs = self.fn(events, states, self.resolver, NOW)
        for account, entry in out.states.items():
            self.table[account] = orjson.dumps(entry)
        self.entries.update(out.states)
        return out


def kernel_or_python(path: str) -> Any:
    """The native kernel (streams/live/native.py) for the plain counter groups, or Python for every group."""
    if path == "python":
        return None
    if native.kernel is None and shutil.which("cargo") is None:
        pytest.skip("the kernel is built by make venv only where cargo is on the PATH")
    assert native.kernel is not None, "cargo is on the PATH: make venv must have built the kernel"
    return native.kernel


@pytest.mark.parametrize("path", ["kernel", "python"])
@settings(max_examples=60, deadline=None)
@given(st.randoms(use_true_random=False), st.lists(st.integers(1, 80), min_size=1, max_size=5), st.booleans())
def test_the_fast_path_equals_the_reference_to_the_digit(
    path: str, rng: random.Random, sizes: list[int], decoded: bool
) -> None:
    """``decoded``: the fast path keeps its entries between steps (its memos are used), every seat
    list remembered however short. ``path``: plain counter groups rated by the native kernel, or in Python."""
    versions = subscriptions(rng)
    reference, fast = Path(rate_batch, versions), Path(fold_step, versions, decoded)
    with (
        patch.object(fold, "SEAT_MEMO_FROM", 0 if decoded else fold.SEAT_MEMO_FROM),
        patch.object(native, "kernel", kernel_or_python(path)),
    ):
        _same_outputs(rng, sizes, reference, fast)


def _same_outputs(rng: random.Random, sizes: list[int], reference: Path, fast: Path) -> None:
    start = 0
    sent: list[AcceptedEvent] = []
    for n in sizes:
        step = make_events(rng, n, start)
        start += n
        # Storage readings sent again with another value (a conflicting replay keeps the larger).
        readings = [e for e in sent if e.metric == "storage_gb"]
        step += [
            msgspec.structs.replace(e, quantity=max(D(0), e.quantity + rng.choice([-1, 1]))) for e in readings[-3:]
        ]
        sent += step
        want, got = reference.rate(step), fast.rate(step)
        assert got.rated == want.rated  # the same bytes: quantities, amounts, tiers, versions, order
        assert got.quota_records == want.quota_records  # the bytes gateways read
        assert got.alerts == want.alerts
        assert got.states.keys() == want.states.keys()
        assert fast.table == reference.table


@settings(max_examples=30, deadline=None)
@given(st.randoms(use_true_random=False), st.lists(st.integers(1, 60), min_size=1, max_size=4))
def test_a_period_s_rated_amounts_add_up_to_the_pure_charge_of_its_total(rng: random.Random, sizes: list[int]) -> None:
    """Without tier changes, the deltas the fast path emits for a counted metric sum to
    ``metric_charge`` of the period-to-date total (rating/pricing.py) — included quotas and caps crossed
    in any step."""
    versions = [version(a, k, rng.choice(TIERS), T0 - timedelta(days=60), 1) for a, k in [(u, "user") for u in USERS]]
    fast = Path(fold_step, versions)
    lines: list[dict[str, Any]] = []
    start = 0
    for n in sizes:
        step = [e for e in make_events(rng, n, start) if e.org_id is None and e.metric == "api_calls"]
        start += n
        lines += [orjson.loads(x) for x in fast.rate(step).rated if orjson.loads(x)["metric"] == "api_calls"]
    by_period: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for x in lines:
        by_period.setdefault((x["account_id"], x["period"]), []).append(x)
    for (account, _), xs in by_period.items():
        tier = next(v.tier for v in versions if v.account_id == account)
        rule = CATALOG.at(NOW).tiers[tier].metrics["api_calls"]
        total = D(xs[-1]["period_to_date"])
        charge = metric_charge(rule, total)
        assert sum(D(x["amount"]) for x in xs) == charge.amount
        assert sum(D(x["included"]) for x in xs) == charge.included
        assert sum(D(x["billable"]) for x in xs) == charge.billable


def test_the_memos_are_used_between_steps_and_forgotten_on_demand() -> None:
    """Kept entries hit the memos (an organization's seats, storage readings); ``forget_memos`` empties them."""
    versions = [version("o1", "org", "enterprise", T0 - timedelta(days=60), 1)]
    fast = Path(fold_step, versions, decoded=True)
    at = epoch_ms(NOW - timedelta(minutes=5))
    for k in range(3):
        step = [
            AcceptedEvent(
                event_id=f"s{k}-{i}",
                ts_ms=at + i,
                user_id=f"u{i + k}",
                org_id="o1",
                metric=["storage_gb", "api_calls"][i % 2],
                quantity=D(i),
                source="test",
                properties={},
                account_id="o1",
            )
            for i in range(80)
        ]
        fast.rate(step)
    seats = fast.entries["o1"]["o1|2026-11|active_user"]["users"]
    assert len(seats) == 82 and seats == sorted(seats)
    assert id(seats) in fold._seat_sets.by_id and fold._seat_sets.by_id[id(seats)][1] == set(seats)
    assert len(fold._kept_readings) > 0
    fold.forget_memos()
    assert not fold._seat_sets.by_id and fold._seat_sets.users == 0 and len(fold._kept_readings) == 0


def test_a_group_the_kernel_declines_is_rated_in_python() -> None:
    """A sum ``Decimal`` rounds (a quantity of 29 digits) is declined by the kernel: the group is rated in
    Python, with the reference's bytes; the next step's group, exact again, is the kernel's."""
    installed = kernel_or_python("kernel")
    answers: list[bool] = []

    class Spy:
        def __init__(self, counter: Any) -> None:
            self.counter = counter

        def rate(self, *args: Any) -> Any:
            got = self.counter.rate(*args)
            answers.append(got is not None)
            return got

    made = native.counter
    versions = [version("u1", "user", "standard", T0 - timedelta(days=60), 1)]
    reference, fast = Path(rate_batch, versions), Path(fold_step, versions)
    at = epoch_ms(NOW - timedelta(minutes=5))
    quantities = [[D("200000.00000000000000000000000")], [D(2)]]
    with (
        patch.object(native, "kernel", installed),
        patch.object(native, "counter", lambda *a: Spy(made(*a))),
    ):
        for k, qs in enumerate(quantities):
            step = [
                AcceptedEvent(
                    event_id=f"d{k}-{i}",
                    ts_ms=at + i,
                    user_id="u1",
                    org_id=None,
                    metric="api_calls",
                    quantity=q,
                    source="test",
                    properties={},
                    account_id="u1",
                )
                for i, q in enumerate(qs)
            ]
            want, got = reference.rate(step), fast.rate(step)
            assert got.rated == want.rated and got.quota_records == want.quota_records
    assert fast.table == reference.table
    assert answers == [False, True]
