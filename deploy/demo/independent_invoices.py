"""Invoices computed from the contract text alone, to check the pipeline's against (tests and the demo).

Written apart from ``rating/``: it reads the catalog TOML itself and works per event, in plain loops,
from the rules as docs/rating.md and docs/events.md state them. No shared helper of the pipeline's
reading of the rules is used, so a misreading there shows up as a difference here. Rules:

- Billing account (docs/events.md): the organization when the event has an ``org_id`` whose version in
  effect at the event's time is ``trialing``, ``active`` or ``past_due``; otherwise the user. Every
  metric follows it, storage readings included.
- Periods (docs/rating.md "Periods"): monthly, midnight UTC, on the anchor day of the account's version
  in effect (before its first version: that version's anchor; no subscription: the 1st); an anchor on
  the 29th-31st falls on the last day of a shorter month.
- Each event is rated under the version in effect at its own time (no subscription, or canceled: the
  catalog's ``default_tier``). Duplicates (same ``source`` and ``event_id``) count once.
- Fees in advance under the version at the period start; monthly every period, annual once per
  contract year in the period starting on the anchor's anniversary; proration at a change inside the
  period (docs/rating.md "Proration").
- API calls: the period's cumulative count in time order; each event adds what its own rule charges
  between the count before and after it. Premium features: per use, at the price of the version then.
- Seats: distinct users with any usage event billed to the account in the period while it is under a
  seat-priced tier — or, when the last such tier's ``seat_basis`` is ``provisioned``, the most members at
  one instant of those stretches — priced once under the last such tier (volume: all seats at the reached
  price; graduated: each bracket's seats at its own price), at least the contract's minimum seats.
- Add-ons, the commitment true-up and credit grants: deploy/demo/independent_contracts.py (an account's
  invoices are computed in time order, so a grant's draws by earlier periods are known).
- Contracts (docs/rating.md "Contracts"): the version's contract replaces the whole tier (``tier``), the
  fees, the seat prices, ``minimum_seats``, each metric rule it names; ``seat_mode`` re-prices the seat
  brackets.
- Storage: the time-weighted average of the account's gauge over the period (each reading holds until
  the next; the last reading before the period carries in), priced under the version at the period end.
- Every line rounds to cents half-even once; the total adds the rounded lines.

Descriptions are not computed (presentation, not money).
"""

from __future__ import annotations

import calendar
import json
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from deploy.demo.independent_contracts import (
    AddonRecord,
    Grant,
    Member,
    Raw,
    addon_lines,
    credit_lines,
    peak_members,
    true_up_line,
)
from schemas.events import Metric

# The catalog file as installed with the package (a data file: none of rating/'s code is used to read it).
DEFAULT_CATALOG: Traversable = resources.files("rating") / "catalog" / "default.toml"
BILLING_STATUSES = ("trialing", "active", "past_due")
CENT = Decimal("0.01")
ZERO = Decimal(0)
MS = timedelta(milliseconds=1)
US = timedelta(microseconds=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Sub:
    """One subscription version on ``billing.subscriptions`` (fields as in docs/analytics.md `subscriptions`)."""

    account_id: str
    tier: str
    status: str
    interval: str
    anchor: date
    effective_from: datetime
    version: int
    contract: Mapping[str, Any] | None = None  # the contract overrides, as JSON


@dataclass(frozen=True, slots=True)
class Usage:
    """One usage event as sent (docs/events.md)."""

    source: str
    event_id: str
    ts: datetime
    user_id: str
    org_id: str | None
    metric: str
    quantity: Decimal
    properties: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Line:
    code: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal  # rounded to cents


@dataclass(frozen=True, slots=True)
class Expected:
    account_id: str
    start: datetime
    end: datetime
    lines: tuple[Line, ...]

    @property
    def key(self) -> str:
        return f"{self.start.year:04d}-{self.start.month:02d}"

    @property
    def total(self) -> Decimal:
        total = ZERO
        for ln in self.lines:
            total += ln.amount
        return total

    def by_code(self) -> dict[str, Line]:
        return {ln.code: ln for ln in self.lines}

    def to_document(self) -> dict[str, Any]:
        """The money of the invoice document (docs/analytics.md `invoices`): lines without descriptions."""
        return {
            "account_id": self.account_id,
            "period_start": self.start.isoformat(),
            "period_end": self.end.isoformat(),
            "lines": [
                {
                    "code": ln.code,
                    "quantity": f"{ln.quantity:f}",
                    "unit_price": f"{ln.unit_price:f}",
                    "amount": f"{ln.amount:.2f}",
                }
                for ln in self.lines
            ],
            "total": f"{self.total:.2f}",
        }


def sub_of(record: Any) -> Sub:
    """A ``Sub`` from a subscription record (a mapping or an object with the subscription record's field names)."""

    def get(key: str) -> Any:
        return record.get(key) if isinstance(record, Mapping) else getattr(record, key, None)

    contract = get("contract")
    if isinstance(contract, str):  # a warehouse row's JSON text ("" for none)
        contract = json.loads(contract) if contract else None
    elif contract is not None and not isinstance(contract, Mapping):  # a model: its JSON form, amounts as strings
        contract = contract.model_dump(mode="json", exclude_none=True)
    anchor = get("anchor")
    eff = get("effective_from")
    return Sub(
        account_id=get("account_id"),
        tier=get("tier"),
        status=get("status") or "active",
        interval=get("interval") or "month",
        anchor=anchor if isinstance(anchor, date) else date.fromisoformat(anchor),
        effective_from=(eff if isinstance(eff, datetime) else datetime.fromisoformat(eff)).astimezone(UTC),
        version=int(get("version")),
        contract=contract or None,
    )


def round_cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)


def day_in_month(year: int, month: int, day: int) -> datetime:
    last = calendar.monthrange(year, month)[1]
    return datetime(year, month, min(day, last), tzinfo=UTC)


def month_after(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def month_before(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def period_on(anchor_day: int, at: datetime) -> tuple[datetime, datetime]:
    """The monthly period on ``anchor_day`` holding ``at``: [start, end)."""
    year, month = at.year, at.month
    start = day_in_month(year, month, anchor_day)
    if at < start:
        year, month = month_before(year, month)
        start = day_in_month(year, month, anchor_day)
    ny, nm = month_after(year, month)
    return start, day_in_month(ny, nm, anchor_day)


class Catalog:
    """The catalog file read directly (tomllib): tiers' fees, seat prices and metric rules."""

    def __init__(self, path: Path | None = None) -> None:
        doc = tomllib.loads((path or DEFAULT_CATALOG).read_text(encoding="utf-8"))
        self.versions = sorted(doc["versions"], key=lambda v: v["effective_from"])

    def at(self, when: datetime) -> dict[str, Any]:
        found: dict[str, Any] | None = None
        for v in self.versions:
            eff = v["effective_from"]
            eff = eff if isinstance(eff, datetime) else datetime.fromisoformat(eff)
            if eff.astimezone(UTC) <= when:
                found = v
        if found is None:
            raise ValueError(f"no catalog version in effect at {when}")
        return found

    def tier(self, name: str, when: datetime) -> dict[str, Any]:
        tier: dict[str, Any] = self.at(when)["tiers"][name]
        return tier

    def default_tier(self, when: datetime) -> str:
        name: str = self.at(when)["default_tier"]
        return name


def _d(text: Any) -> Decimal:
    return Decimal(str(text))


def rule_of(tier: dict[str, Any], metric: str) -> dict[str, Any] | None:
    rule: dict[str, Any] | None = tier.get("metrics", {}).get(metric)
    return rule


def billable_at(rule: dict[str, Any] | None, used: Decimal) -> tuple[Decimal, Decimal]:
    """(billable quantity, amount) of a period's cumulative ``used`` under ``rule``: past the hard cap
    nothing counts; over the included quantity at the unit price; nothing without a unit price."""
    if rule is None or rule.get("entitled", True) is False or "unit_price" not in rule:
        return ZERO, ZERO
    counted = used
    if "hard_cap" in rule:
        counted = min(counted, _d(rule["hard_cap"]))
    over = counted - _d(rule.get("included", "0"))
    if over <= 0:
        return ZERO, ZERO
    return over, over * _d(rule["unit_price"])


class Expectation:
    """Expected invoices of every account and period, from subscription records and the events sent."""

    def __init__(
        self,
        subscriptions: Iterable[Any],
        events: Iterable[Usage],
        catalog: Catalog | None = None,
        *,
        addons: Iterable[AddonRecord] = (),
        grants: Iterable[Grant] = (),
        members: Iterable[Member] = (),
    ) -> None:
        self.catalog = catalog or Catalog()
        self.addons: dict[str, list[AddonRecord]] = {}
        for a in addons:
            self.addons.setdefault(a.account, []).append(a)
        self.grants: dict[str, list[Grant]] = {}
        for g in grants:
            self.grants.setdefault(g.account, []).append(g)
        self.members: dict[str, list[Member]] = {}
        for m in members:
            self.members.setdefault(m.org, []).append(m)
        self.drawn: dict[tuple[str, datetime], Decimal] = {}  # (grant id, period start) -> what that invoice drew
        self.subs: dict[str, list[Sub]] = {}
        for record in subscriptions:
            s = sub_of(record)
            self.subs.setdefault(s.account_id, []).append(s)
        seen: set[tuple[str, str]] = set()
        self.events: list[Usage] = []
        for e in events:
            if (e.source, e.event_id) in seen:
                continue  # a duplicate counts once
            seen.add((e.source, e.event_id))
            self.events.append(e)
        self.events.sort(key=lambda e: (e.ts, e.event_id))
        # Each event's billing account, once.
        self.billed: list[tuple[str, Usage]] = [(self.billing_account(e), e) for e in self.events]
        self.by_account: dict[str, list[Usage]] = {}
        for account, e in self.billed:
            self.by_account.setdefault(account, []).append(e)

    # -- subscriptions ------------------------------------------------------------------------------

    def version_at(self, account: str, at: datetime) -> Sub | None:
        found = None
        for s in self.subs.get(account, []):
            if s.effective_from <= at and (
                found is None or (s.effective_from, s.version) > (found.effective_from, found.version)
            ):
                found = s
        return found

    def first_version(self, account: str) -> Sub | None:
        found = None
        for s in self.subs.get(account, []):
            if found is None or (s.effective_from, s.version) < (found.effective_from, found.version):
                found = s
        return found

    def billing_account(self, e: Usage) -> str:
        if e.org_id:
            v = self.version_at(e.org_id, e.ts)
            if v is not None and v.status in BILLING_STATUSES:
                return e.org_id
        return e.user_id

    def anchor_day(self, account: str, at: datetime) -> int:
        v = self.version_at(account, at) or self.first_version(account)
        return v.anchor.day if v is not None else 1

    def period(self, account: str, at: datetime) -> tuple[datetime, datetime]:
        return period_on(self.anchor_day(account, at), at)

    def tier_at(self, account: str, at: datetime, cat_time: datetime) -> dict[str, Any]:
        """The tier rating ``at`` uses: the catalog's, with the version's contract laid over it."""
        v = self.version_at(account, at)
        tier = self.catalog.tier(self.tier_name_at(account, at), cat_time)
        if v is None or v.status == "canceled" or not v.contract:
            return tier
        return overlay(tier, v.contract)

    def tier_name_at(self, account: str, at: datetime) -> str:
        v = self.version_at(account, at)
        if v is None or v.status == "canceled":
            return self.catalog.default_tier(at)
        return v.tier

    # -- which invoices ------------------------------------------------------------------------------

    def accounts(self) -> set[str]:
        return set(self.subs) | {a for a, _ in self.billed}

    def usage_periods(self) -> set[tuple[str, datetime, datetime]]:
        """Every (account, period) that has usage billed to it."""
        out = set()
        for account, e in self.billed:
            start, end = self.period(account, e.ts)
            out.add((account, start, end))
        return out

    # -- the invoice --------------------------------------------------------------------------------

    def invoice(self, account: str, start: datetime, end: datetime) -> Expected:
        cat_time = start
        mine = [e for e in self.by_account.get(account, []) if start <= e.ts < end]
        lines: list[Line] = []
        lines += self._fees(account, start, end, cat_time)
        # API calls and premium features, event by event in time order.
        used = ZERO
        over_qty, over_amount, over_price = ZERO, ZERO, ZERO
        features: dict[str, tuple[Decimal, Decimal]] = {}
        # The seat rule, re-derived on purpose (not imported): rating/seats.py is its home.
        seat_users: set[str] = set()
        seat_tier: dict[str, Any] | None = None
        for e in mine:
            tier = self.tier_at(account, e.ts, cat_time)
            if "seats" in tier:
                seat_users.add(e.user_id)
                seat_tier = tier
            if e.metric == Metric.API_CALLS:
                rule = rule_of(tier, Metric.API_CALLS)
                q0, a0 = billable_at(rule, used)
                used += e.quantity
                q1, a1 = billable_at(rule, used)
                over_qty += q1 - q0
                over_amount += a1 - a0
                if rule is not None and "unit_price" in rule and q1 > q0:
                    over_price = _d(rule["unit_price"])
            elif e.metric == Metric.PREMIUM_FEATURE:
                rule = rule_of(tier, Metric.PREMIUM_FEATURE)
                name = e.properties.get("feature", "unknown")
                prices = (rule or {}).get("per_feature", {})
                if rule is not None and rule.get("entitled", True) and name in prices:
                    q, a = features.get(name, (ZERO, ZERO))
                    features[name] = (q + e.quantity, a + e.quantity * _d(prices[name]))
        if over_amount:
            lines.append(Line("api_calls_overage", over_qty, over_price, round_cents(over_amount)))
        for name in sorted(features):
            q, a = features[name]
            if q:
                lines.append(Line(f"premium_feature:{name}", q, a / q, round_cents(a)))
        # The last stretch under a seat-priced tier prices the seats (its minimum applies even without users).
        changes = [
            start,
            *sorted({s.effective_from for s in self.subs.get(account, []) if start < s.effective_from < end}),
        ]
        priced: list[tuple[datetime, datetime]] = []
        for at, until in zip(changes, [*changes[1:], end], strict=True):
            tier = self.tier_at(account, at, cat_time)
            if "seats" in tier:
                seat_tier = tier
                priced.append((at, until))
        if seat_tier is not None:
            count = len(seat_users)
            if seat_tier.get("seat_basis") == "provisioned":
                count = peak_members(self.members.get(account, []), priced)
            n = max(count, int(seat_tier.get("minimum_seats", 0)))
            if n:
                unit, amount = self._seat_charge(seat_tier["seats"], n)
                lines.append(Line("seats", Decimal(n), unit, round_cents(amount)))
        lines += self._storage(account, start, end, cat_time)
        lines += self._contract_lines(account, start, end, cat_time, lines)
        return Expected(account, start, end, tuple(lines))

    def _contract_lines(
        self, account: str, start: datetime, end: datetime, cat_time: datetime, lines: list[Line]
    ) -> list[Line]:
        """Add-ons, then the commitment's true-up over the charges, then what credit grants pay of the total."""
        v = self.version_at(account, end - US)
        contract: Mapping[str, Any] = (v.contract or {}) if v is not None else {}
        catalog_addons = self.catalog.at(cat_time).get("addons", {})
        out = [
            _line(r)
            for r in addon_lines(self.addons.get(account, []), start, end, catalog_addons, contract.get("addons", {}))
        ]
        charged = sum((ln.amount for ln in [*lines, *out]), ZERO)
        out += [_line(r) for r in true_up_line(contract.get("commitment"), charged)]
        due = charged + sum((ln.amount for ln in out if ln.code == "commitment_true_up"), ZERO)
        out += [_line(r) for r in credit_lines(self.grants.get(account, []), self.drawn, due, start, end)]
        return out

    def _seat_charge(self, seats: dict[str, Any], n: int) -> tuple[Decimal, Decimal]:
        """(unit price, amount), seat by seat: volume prices all at the bracket the count reaches (its unit
        price), graduated each seat at its own bracket's (the average unit price)."""
        brackets: list[tuple[Decimal | None, dict[str, Any]]] = [
            (_d(t["up_to"]) if t.get("up_to") is not None else None, t) for t in seats["tiers"]
        ]

        def bracket(k: int) -> int:
            for i, (up_to, _) in enumerate(brackets):
                if up_to is None or k <= up_to:
                    return i
            raise ValueError("seat tiers without a last open tier")

        if seats.get("mode", "volume") == "volume":
            t = brackets[bracket(n)][1]
            unit = _d(t["unit_amount"])
            return unit, n * unit + _d(t.get("flat_amount", 0))
        total, touched = ZERO, set()
        for k in range(1, n + 1):
            i = bracket(k)
            total += _d(brackets[i][1]["unit_amount"])
            touched.add(i)
        total += sum((_d(brackets[i][1].get("flat_amount", 0)) for i in touched), ZERO)
        return total / n, total

    def _storage(self, account: str, start: datetime, end: datetime, cat_time: datetime) -> list[Line]:
        """The account's gauge: every storage reading billed to it, each holding until the next."""
        readings = [
            (e.ts, e.event_id, e.quantity) for e in self.by_account.get(account, []) if e.metric == Metric.STORAGE_GB
        ]
        readings.sort()
        level = ZERO
        for ts, _, q in readings:
            if ts <= start:
                level = q  # the last reading at or before the start carries in
        area = ZERO
        at = start
        for ts, _, q in readings:
            if start < ts < end:
                area += level * Decimal((ts - at) // US)
                at, level = ts, q
        area += level * Decimal((end - at) // US)
        average = area / Decimal((end - start) // US)
        tier = self.tier_at(account, end - US, cat_time)
        qty, amount = billable_at(rule_of(tier, Metric.STORAGE_GB), average)
        if not amount:
            return []
        rule = rule_of(tier, Metric.STORAGE_GB) or {}
        return [Line("storage_overage", qty, _d(rule["unit_price"]), round_cents(amount))]

    # -- fees ---------------------------------------------------------------------------------------

    def _fees_of(self, v: Sub | None, cat_time: datetime) -> dict[str, tuple[Decimal, bool]]:
        """code -> (amount, annual) of the fees a version carries."""
        if v is None or v.status in ("canceled", "trialing"):
            return {}
        tier = self.catalog.tier(v.tier, cat_time)
        if v.contract:
            tier = overlay(tier, v.contract)
        out = {}
        for code in ("base_fee", "platform_fee"):
            fees = tier.get(code, {})
            if v.interval in fees:
                amount, annual = _d(fees[v.interval]), v.interval == "year"
            elif "year" in fees:
                amount, annual = _d(fees["year"]), True
            else:
                continue
            if amount:
                out[code] = (amount, annual)
        return out

    @staticmethod
    def _contract_year(anchor: date, at: datetime) -> tuple[datetime, datetime]:
        start = day_in_month(at.year, anchor.month, anchor.day)
        if at < start:
            start = day_in_month(at.year - 1, anchor.month, anchor.day)
        return start, day_in_month(start.year + 1, anchor.month, anchor.day)

    def _fees(self, account: str, start: datetime, end: datetime, cat_time: datetime) -> list[Line]:
        lines = []
        first = self.version_at(account, start)
        for code, (amount, annual) in self._fees_of(first, cat_time).items():
            assert first is not None
            if annual and self._contract_year(first.anchor, start)[0] != start:
                continue  # an annual fee only in the period starting on the anniversary
            lines.append(Line(code, Decimal(1), amount, round_cents(amount)))
        # Changes inside the period, in time order (a subscription starting inside it is a change from none).
        changes = sorted(
            {s.effective_from for s in self.subs.get(account, []) if start < s.effective_from < end},
        )
        for at in changes:
            old, new = self.version_at(account, at - US), self.version_at(account, at)
            lines += self._proration(old, new, start, end, at, cat_time)
        return lines

    def _proration(
        self, old: Sub | None, new: Sub | None, start: datetime, end: datetime, at: datetime, cat_time: datetime
    ) -> list[Line]:
        def left(v: Sub, annual: bool) -> Decimal:
            s, e = self._contract_year(v.anchor, at) if annual else (start, end)
            at_ = min(max(at, s), e)
            return Decimal((e - at_) // US) / Decimal((e - s) // US)

        credit = {c: (left(old, an), amt) for c, (amt, an) in self._fees_of(old, cat_time).items()} if old else {}
        charge = {c: (left(new, an), amt) for c, (amt, an) in self._fees_of(new, cat_time).items()} if new else {}
        if sum((f * a for f, a in charge.values()), ZERO) <= sum((f * a for f, a in credit.values()), ZERO):
            return []  # downgrades and cancellations take effect at the period end; nothing credited
        lines = []
        for code in ("base_fee", "platform_fee"):
            c_frac, c_fee = credit.get(code, (ZERO, ZERO))
            n_frac, n_fee = charge.get(code, (ZERO, ZERO))
            amount = n_frac * n_fee - c_frac * c_fee
            if not amount:
                continue
            if not c_frac * c_fee:
                quantity, unit = n_frac, n_fee
            elif not n_frac * n_fee:
                quantity, unit = c_frac, -c_fee
            elif c_frac == n_frac:
                quantity, unit = n_frac, n_fee - c_fee
            else:
                quantity, unit = Decimal(1), amount
            name = "base_fee_proration" if code == "base_fee" else code
            lines.append(Line(name, quantity, unit, round_cents(amount)))
        return lines


def _line(raw: Raw) -> Line:
    code, quantity, unit_price, amount = raw
    return Line(code, quantity, unit_price, round_cents(amount))


def overlay(tier: dict[str, Any], contract: Mapping[str, Any]) -> dict[str, Any]:
    """The tier as a contract leaves it (docs/rating.md "Contracts"), on the plain catalog mappings."""
    out = dict(contract.get("tier") or tier)
    out["metrics"] = {**out.get("metrics", {}), **contract.get("metrics", {})}
    for key in ("base_fee", "platform_fee", "seats", "minimum_seats", "seat_basis"):
        if contract.get(key) is not None:
            out[key] = contract[key]
    if contract.get("seat_mode") and "seats" in out:
        out["seats"] = {**out["seats"], "mode": contract["seat_mode"]}
    return out


def compare(expected: Expected, document: Mapping[str, Any] | None) -> list[str]:
    """Differences between an expected invoice and a pipeline invoice document (None: no invoice),
    line by line: amounts to the cent, quantities and unit prices exactly (to 1e-18 for fractions)."""
    problems = []
    doc_lines: dict[str, Mapping[str, Any]] = {}
    if document is not None:
        got = (document.get("period_start"), document.get("period_end"))
        want = (expected.start.isoformat(), expected.end.isoformat())
        if got != want:
            problems.append(f"period {got} != expected {want}")
        for ln in document.get("lines", []):
            doc_lines[ln["code"]] = ln
    want_lines = expected.by_code()
    for code in sorted(set(doc_lines) | set(want_lines)):
        w, g = want_lines.get(code), doc_lines.get(code)
        if w is None or g is None:
            problems.append(f"{code}: pipeline {g and g['amount']}, expected {w and w.amount}")
            continue
        if Decimal(g["amount"]) != w.amount or g["amount"] != f"{w.amount:.2f}":
            problems.append(f"{code}: amount {g['amount']} != expected {w.amount}")
        for what, value in (("quantity", w.quantity), ("unit_price", w.unit_price)):
            if not _close(Decimal(g[what]), value):
                problems.append(f"{code}: {what} {g[what]} != expected {value}")
    if document is not None and Decimal(document["total"]) != expected.total:
        problems.append(f"total {document['total']} != expected {expected.total}")
    return problems


def _close(a: Decimal, b: Decimal) -> bool:
    return a == b or abs(a - b) <= Decimal("1e-18") * max(Decimal(1), abs(b))
