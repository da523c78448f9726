"""The fast path's rated lines and quota-state records, written into pre-encoded JSON around their variable fields.

A group's rated line and quota-state record are mostly fields fixed for every group of the same terms and
metric in a step (account, metric, period, tier, versions, the rule's limits, the step's time); building a
dict of sixteen fields and encoding it cost about as much as formatting the six amounts (≈ 1 µs each per
group, docs/performance.md). ``Templates`` encodes the fixed parts with orjson once per step, metric and
terms other than the account (shared by every account on the same tier and version), and a group fills in
only its numbers; the quota's limits come from ``rating.quota``'s own rule (``_limits``). Decimal text
(``fixed_text``) is digits, sign and point: nothing in it needs escaping. The bytes are those of
``rate_batch``'s records (tests/unit/streams/live/test_live_fold.py and test_live_records.py compare them).
A plain counter metric's template also carries the native kernel's ``Counter`` of the same parts
(streams/live/native.py), which writes a group's records itself.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import orjson

from rating.catalog.model import MeteredRule
from rating.money import fixed_text
from rating.quota import _limits, _text
from streams.live import native
from streams.live.rating import _first_threshold
from streams.live.resolve import Resolved

if TYPE_CHECKING:
    from meterline_kernel import Counter

#: The parts after the account: line head, line tail, quota head, quota tail, the rule, its included
#: quantity's JSON, its hard cap's JSON, and the native kernel's ``Counter`` of them for a plain counter
#: metric (streams/live/native.py; None when the kernel is off or the group is not one).
_Shared = tuple[bytes, bytes, bytes, bytes, MeteredRule, str, str, "Counter | None"]
#: A group's template: '{"account_id":"…"' and the parts its terms share with other accounts.
_Template = tuple[bytes, _Shared]
_TermsKey = tuple[str, int, str, str, int]


class Templates:
    """The fixed parts of a step's records: the account's name per terms id, the rest per metric and terms
    other than the account (tier, period, versions), shared by every account on them."""

    __slots__ = ("_shared", "_terms", "rated_at")

    def __init__(self, rated_at: str) -> None:
        self.rated_at = rated_at
        self._terms: dict[int, tuple[bytes, _TermsKey]] = {}  # terms id -> ('{"account_id":"…"', the rest)
        self._shared: dict[tuple[str, _TermsKey], _Shared] = {}

    def of(self, tid: int, t: Resolved, metric: str, rule: MeteredRule, rate_limit: int) -> _Template:
        """The template of a group; ``rule`` and ``rate_limit`` are ``t``'s for ``metric``."""
        terms = self._terms.get(tid)
        if terms is None:
            rest = (t.tier_name, t.period_start_ms, t.period, t.catalog.version, t.version.version)
            terms = self._terms[tid] = (b'{"account_id":' + orjson.dumps(t.billed), rest)
        shared = self._shared.get((metric, terms[1]))
        if shared is None:
            shared = self._shared[metric, terms[1]] = self._make(t, metric, rule, rate_limit)
        return terms[0], shared

    def _make(self, t: Resolved, metric: str, rule: MeteredRule, rate_limit: int) -> _Shared:
        """The parts without the account: each head starts after '{"account_id":"…"'."""
        line_head = orjson.dumps(
            {
                "metric": metric,
                "period": t.period,
                "period_start_ms": t.period_start_ms,
                "tier": t.tier_name,
                "quantity": "",
            }
        )[1:-2]  # from the first field's key to the quantity's opening quote
        line_tail = orjson.dumps(
            {
                "catalog_version": t.catalog.version,
                "subscription_version": t.version.version,
                "provisional": True,
                "rated_at": self.rated_at,
            }
        )[1:]
        quota_head = orjson.dumps({"metric": metric, "period": t.period, "used": ""})[1:-2]
        quota_tail = orjson.dumps(
            {"entitled": rule.entitled, "rate_limit_per_minute": rate_limit, "as_of": self.rated_at}
        )[1:]
        included, cap = rule.included, rule.hard_cap
        included_json = "null" if included is None else f'"{_text(included)}"'
        cap_json = "null" if cap is None else f'"{_text(cap)}"'
        parts = (b"," + line_head, b'",' + line_tail, b"," + quota_head, quota_tail, included_json, cap_json)
        counter = None
        if native.kernel is not None and native.plain_counter(metric, rule):
            first = _first_threshold(rule)
            counter = native.counter(parts, rule, None if first.is_infinite() else str(first))
        return (*parts[:4], rule, included_json, cap_json, counter)

    @staticmethod
    def rated_line(
        tpl: _Template,
        quantity: str,
        period_to_date: str,
        included: Decimal,
        billable: Decimal,
        unit_price: Decimal,
        amount: Decimal,
        extra: dict[str, Any] | None,
    ) -> bytes:
        """``orjson.dumps`` of ``rate_batch``'s rated-line dict, ``extra`` (text values) last."""
        middle = (
            f'{quantity}","period_to_date":"{period_to_date}","included":"{fixed_text(included)}",'
            f'"billable":"{fixed_text(billable)}","unit_price":"{fixed_text(unit_price)}",'
            f'"amount":"{fixed_text(amount)}'
        ).encode()
        account, shared = tpl
        if extra:
            return b"".join((account, shared[0], middle, shared[1][:-1], b",", orjson.dumps(extra)[1:]))
        return b"".join((account, shared[0], middle, shared[1]))

    @staticmethod
    def counter(tpl: _Template) -> Counter | None:
        """The native kernel's ``Counter`` of the template (a plain counter metric with the kernel on), else None."""
        return tpl[1][7]

    @staticmethod
    def quota_record(tpl: _Template, used: Decimal) -> bytes:
        """``orjson.dumps(quota_record(...))`` (rating/quota.py) for this template's rule at ``used``."""
        account, shared = tpl
        _, remaining, _, over, capped = _limits(shared[4], used)
        left = "null" if remaining is None else f'"{_text(remaining)}"'
        numbers = (
            f'{_text(used)}","included":{shared[5]},"remaining":{left},"hard_cap":{shared[6]},'
            f'"over_limit":{_BOOL[over]},"hard_capped":{_BOOL[capped]},'
        )
        return b"".join((account, shared[2], numbers.encode(), shared[3]))


_BOOL = {True: "true", False: "false"}
