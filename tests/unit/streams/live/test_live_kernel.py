"""The native kernel (rating/live/kernel, streams/live/native.py) against Python's ``Decimal`` and the pure rules.

For generated rules and quantities of any exponent — coefficients at the default context's 28 digits and
past them, included quantities and hard caps tied with the usage before or after (in other exponents) —
``Counter.rate`` must give the bytes of the reference's rated line (``rate_batch``'s dict) and of
``quota_record``, the entry's ``used`` text and whether an alert may be due; it may decline only where
``Decimal`` rounded. Skipped where the kernel is not built because cargo is missing (make venv's rule).
"""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, Rounded, localcontext
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rating.catalog.loader import load_catalog
from rating.catalog.model import MeteredRule
from rating.money import ZERO, fixed_text
from rating.quota import delta_parts, quota_record
from rating.subscriptions import SubscriptionVersion
from streams.live import native
from streams.live.rating import _first_threshold, rated_line
from streams.live.records import Templates
from streams.live.resolve import Resolved, Resolver
from streams.settings import load_settings
from streams.subscriptions.registry import SubscriptionRegistry

if native.kernel is None and shutil.which("cargo") is None:
    pytest.skip("the kernel is built by make venv only where cargo is on the PATH", allow_module_level=True)

D = Decimal
NOW = datetime(2026, 11, 20, 12, 0, 0, 123456, tzinfo=UTC)
AT = NOW.isoformat()
METRIC = "api_calls"


def _terms() -> Resolved:
    registry = SubscriptionRegistry()
    registry.apply(
        [
            SubscriptionVersion(
                account_id="acct_1",
                account_kind="org",
                tier="standard",
                anchor=date(2026, 10, 3),
                effective_from=NOW - timedelta(days=60),
                version=3,
            )
        ]
    )
    r = Resolver(registry, load_catalog()).at("acct_1", True, int(NOW.timestamp() * 1000))
    assert r is not None
    return r


T = _terms()
RATE_LIMIT = T.tier.rate_limit_per_minute


def dec(coefficient: int, exponent: int) -> Decimal:
    return Decimal((0, tuple(int(c) for c in str(coefficient)), exponent))


# Small coefficients, and ones at the 28-digit edge and past it; exponents of every kind.
coefficients = st.one_of(
    st.integers(0, 1000),
    st.integers(0, 10**12),
    st.integers(10**27 - 10, 10**28 + 10),
    st.integers(0, 10**30),
)
quantities = st.builds(dec, coefficients, st.integers(-30, 12))


def in_exponent(d: Decimal, zeros: int) -> Decimal:
    """The same value with ``zeros`` more trailing zeros (another exponent): a tie by value, not by text."""
    sign, digits, exp = d.as_tuple()
    assert isinstance(exp, int)
    return Decimal((sign, (*digits, *([0] * zeros)), exp - zeros)) if zeros else d


def reference(rule: MeteredRule, used: str | None, qs: list[Decimal]) -> tuple[Any, bool]:
    """What the Python path gives, and whether ``Decimal`` rounded anywhere on the way."""
    with localcontext() as ctx:
        ctx.clear_flags()
        before = D(used) if used is not None else ZERO
        after = before + sum(qs, ZERO)
        parts = delta_parts(rule, before, after)
        line = rated_line(T, METRIC, AT, after - before, after, *parts[1:], {})
        quota = orjson.dumps(quota_record(T.billed, METRIC, T.period, rule, RATE_LIMIT, after, AT))
        due = after >= _first_threshold(rule)
        return (fixed_text(after), line, quota, due), bool(ctx.flags[Rounded])


def counter(rule: MeteredRule) -> Any:
    assert native.kernel is not None, "cargo is on the PATH: make venv must have built the kernel"
    tpl = Templates(AT).of(0, T, METRIC, rule, RATE_LIMIT)
    assert tpl[1][7] is not None
    return tpl[0], tpl[1][7]


@st.composite
def cases(draw: st.DrawFn) -> tuple[MeteredRule, str | None, list[Decimal]]:
    used = draw(st.none() | quantities.map(fixed_text))
    qs = draw(st.lists(quantities, max_size=6))
    before = D(used) if used is not None else ZERO
    with localcontext():
        after = before + sum(qs, ZERO)
    # Limits tied with the usage before or after (in another exponent), or anywhere.
    small = st.builds(dec, st.integers(0, 10**12), st.integers(-9, 6))
    tie = st.builds(in_exponent, st.sampled_from([before, after]), st.integers(0, 3)).filter(
        lambda d: len(d.as_tuple().digits) <= 28
    )
    limit = st.none() | small | tie
    price = st.none() | st.sampled_from([D("0.01"), D("0.00"), D(0), D("1.5E+2"), D("0.000123")]) | small
    rule = MeteredRule(
        entitled=draw(st.booleans()),
        included=draw(limit),
        hard_cap=draw(limit),
        unit_price=draw(price),
        fair_use_alert=draw(limit),
    )
    return rule, used, qs


@settings(max_examples=1000, deadline=None)
@given(cases())
@example((MeteredRule(included=D(10), hard_cap=D("10.00"), unit_price=D("0.01")), "9.5", [D("0.50")]))
@example((MeteredRule(included=D("5.0"), unit_price=D("0.00")), None, [D(5), D("1E+1")]))
@example((MeteredRule(), "9" * 27, [D(1)]))  # 10^27: 28 digits, exact
@example((MeteredRule(), "9" * 28, [D(1)]))  # 10^28: 29 digits, Decimal rounds: declined
@example((MeteredRule(), "0." + "9" * 28, [D("1E-28")]))  # 1.0000…: 29 digits again, after the point
@example((MeteredRule(entitled=False), None, [D("1E-30")]))
def test_the_kernel_gives_what_decimal_gives(case: tuple[MeteredRule, str | None, list[Decimal]]) -> None:
    rule, used, qs = case
    account, kernel = counter(rule)
    want, rounded = reference(rule, used, qs)
    got = kernel.rate(account, used, [SimpleNamespace(quantity=q) for q in qs])
    if got is None:
        assert rounded, "the kernel declined what Decimal does exactly"
    else:
        assert got == want


def test_it_declines_what_it_does_not_read() -> None:
    rule = MeteredRule(included=D(10), unit_price=D("0.01"))
    account, kernel = counter(rule)
    one = [SimpleNamespace(quantity=D(1))]
    for used in (5, "", " 5", "-1", "-0", "NaN", "1_000", "1e5x", "1E"):  # Python raises, or reads what it declines
        assert kernel.rate(account, used, one) is None, used
    assert kernel.rate(account, "5.", one) == reference(rule, "5.", [D(1)])[0]
    for q in (D(-1), D("-0"), D("NaN"), D("Infinity"), dec(10**28, 0)):
        assert kernel.rate(account, None, [SimpleNamespace(quantity=q)]) is None, q


def test_a_rule_it_cannot_hold_is_left_to_python() -> None:
    assert native.kernel is not None
    huge = MeteredRule(included=dec(10**28, -2))
    assert Templates(AT).of(0, T, METRIC, huge, RATE_LIMIT)[1][7] is None
    # Not plain counters: seats, storage, premium features, AI requests, per-feature prices.
    for metric in ("active_user", "storage_gb", "premium_feature", "ai_requests"):
        assert Templates(AT).of(0, T, metric, T.rule(metric), RATE_LIMIT)[1][7] is None
    assert Templates(AT).of(0, T, METRIC, MeteredRule(per_feature={"x": D(1)}), RATE_LIMIT)[1][7] is None


def test_the_setting_turns_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """``METERLINE_LIVE_KERNEL=false`` reaches the switch the worker sets when it registers the rating agent."""
    installed = native.kernel
    monkeypatch.setenv("METERLINE_LIVE_KERNEL", "false")
    settings = load_settings()
    assert settings.live_kernel is False
    try:
        native.use(settings.live_kernel)
        assert native.kernel is None
        assert Templates(AT).of(0, T, METRIC, T.rule(METRIC), RATE_LIMIT)[1][7] is None
        native.use(True)
        assert native.kernel is installed
    finally:
        native.kernel = installed
