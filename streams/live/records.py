"""The fast path's rated lines and quota-state records, written into pre-encoded JSON around their variable fields.

A group's rated line and quota-state record are mostly fields fixed for every group of the same terms and
metric in a step (account, metric, period, tier, versions, the rule's limits, the step's time); building a
dict of sixteen fields and encoding it cost about as much as formatting the six amounts (≈ 1 µs each per
group, docs/performance.md). ``Templates`` encodes the fixed parts once per (terms, metric) and step with
orjson, and a group fills in only its numbers. Decimal text (``fixed_text``) is digits, sign and point:
nothing in it needs escaping. The bytes are those of ``rate_batch``'s ``orjson.dumps`` of the record
(tests/unit/streams/live/test_live_fold.py compares them).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson

from rating.catalog.model import MeteredRule
from rating.money import ZERO, fixed_text
from rating.quota import _text
from streams.live.resolve import Resolved

#: line head, line tail, quota head, quota tail, included, its text, hard cap, its JSON
_Template = tuple[bytes, bytes, bytes, bytes, Decimal | None, str | None, Decimal | None, str]


class Templates:
    """The fixed parts of a step's records, per terms id and metric."""

    __slots__ = ("_by", "rated_at")

    def __init__(self, rated_at: str) -> None:
        self.rated_at = rated_at
        self._by: dict[tuple[int, str], _Template] = {}

    def of(self, tid: int, t: Resolved, metric: str, rule: MeteredRule, rate_limit: int) -> _Template:
        key = (tid, metric)
        hit = self._by.get(key)
        if hit is None:
            hit = self._by[key] = self._make(t, metric, rule, rate_limit)
        return hit

    def _make(self, t: Resolved, metric: str, rule: MeteredRule, rate_limit: int) -> _Template:
        line_head = orjson.dumps(
            {
                "account_id": t.billed,
                "metric": metric,
                "period": t.period,
                "period_start_ms": t.period_start_ms,
                "tier": t.tier_name,
                "quantity": "",
            }
        )[:-2]  # up to the quantity's opening quote
        line_tail = orjson.dumps(
            {
                "catalog_version": t.catalog.version,
                "subscription_version": t.version.version,
                "provisional": True,
                "rated_at": self.rated_at,
            }
        )[1:]
        quota_head = orjson.dumps({"account_id": t.billed, "metric": metric, "period": t.period, "used": ""})[:-2]
        quota_tail = orjson.dumps(
            {"entitled": rule.entitled, "rate_limit_per_minute": rate_limit, "as_of": self.rated_at}
        )[1:]
        included, cap = rule.included, rule.hard_cap
        cap_json = "null" if cap is None else f'"{_text(cap)}"'
        return line_head, b'",' + line_tail, quota_head, quota_tail, included, _text(included), cap, cap_json

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
        tail = tpl[1]
        if extra:
            return tpl[0] + middle + tail[:-1] + b"," + orjson.dumps(extra)[1:]
        return tpl[0] + middle + tail

    @staticmethod
    def quota_record(tpl: _Template, used: Decimal) -> bytes:
        """``orjson.dumps(quota_record(...))`` (rating/quota.py) for this template's rule at ``used``."""
        included, cap = tpl[4], tpl[6]
        if included is None:
            limits = '"included":null,"remaining":null,'
        else:
            remaining = included - used
            limits = f'"included":"{tpl[5]}","remaining":"{_text(remaining if remaining > ZERO else ZERO)}",'
        over = "true" if included is not None and used > included else "false"
        capped = "true" if cap is not None and used >= cap else "false"
        return (
            tpl[2]
            + f'{_text(used)}",{limits}"hard_cap":{tpl[7]},"over_limit":{over},"hard_capped":{capped},'.encode()
            + tpl[3]
        )
