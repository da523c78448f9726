"""The live rating step's fast path: the same outputs as ``live_rating.rate_batch``, with less Python per event.

``rate_batch`` (streams/live/rating.py) is the reference: it resolves every event through the
``Resolver`` and builds a group object per account, metric and step. ``fold_step`` gives the same
entries, rated lines, quota states and alerts, byte for byte (tests/unit/streams/live/test_live_fold.py compares
them on generated steps), and spends its time per group rather than per event (docs/performance.md):

- terms are looked up once per account and hour of the step (the Resolver's hour cache, read once),
  and each distinct set of terms gets a small integer, so an event costs one look-up and one append;
- seats are the distinct users of each group, collected once (``rating/seats.py``: any event of a
  user makes them a seat);
- an AI request's cost is computed once per distinct (provider, model, tokens) in a step;
- a group whose every possible alert was already raised in the period skips ``new_alerts``;
- an organization's seat set and a storage slot's parsed readings are remembered between steps (by the
  identity of the entry's list), so a step late in a period costs about what an early one does;
- deltas are priced as tuples (``delta_parts``): a frozen dataclass per group cost more than its record;
- rated lines and quota-state records are written into JSON encoded once per terms and metric of the
  step (``streams/live/records.py``): a group formats only its numbers.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from datetime import datetime
from decimal import Decimal
from typing import Any

from rating.aggregation import Sample
from rating.ai_costs import ai_request_cost
from rating.catalog.model import MeteredRule
from rating.live.gauge import KeptReadings, fold_readings
from rating.money import ZERO, fixed_text
from rating.periods import HOUR_MS
from rating.quota import delta_parts, new_alerts
from rating.seats import SEAT_METRIC
from schemas.events import AcceptedEvent, Metric
from streams.live.rating import LIVE_PERIODS_SPAN, LiveOutputs, _first_threshold, _period_key, _pruned, quota_key
from streams.live.records import Templates
from streams.live.resolve import Resolved, Resolver

_MISS = object()
#: Storage slots' kept readings, parsed once (rating/live/gauge.py), across the steps of this process.
_kept_readings = KeptReadings()
_Key = tuple[str, int, str]  # routing account, terms id, metric


def _num(text: Any) -> Decimal:
    return Decimal(text) if text is not None else ZERO


def _int(v: Any) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        return 0


_kinds: dict[int, tuple[MeteredRule, frozenset[str]]] = {}


def _alert_kinds(rule: MeteredRule) -> frozenset[str]:
    """Every alert kind ``new_alerts`` could raise under ``rule``: once all are raised in a period,
    the group has nothing left to raise (each alert once per account, metric and period)."""
    hit = _kinds.get(id(rule))
    if hit is not None and hit[0] is rule:
        return hit[1]
    kinds: set[str] = set()
    if not rule.entitled:
        kinds.add("not_entitled")
    else:
        if rule.included is not None and rule.included > 0:
            kinds |= {"quota_80", "quota_100"}
        if rule.hard_cap is not None:
            kinds.add("hard_cap")
        if rule.fair_use_alert is not None:
            kinds.add("fair_use")
    _kinds[id(rule)] = (rule, frozenset(kinds))  # the rule is kept, so its id is never reused meanwhile
    return _kinds[id(rule)][1]


class _Terms:
    """Interns the step's distinct terms: (billed, period, version, catalog version) -> a small int."""

    __slots__ = ("first", "ids", "resolver")

    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self.ids: dict[tuple[str, str, int, str], int] = {}
        self.first: list[Resolved] = []  # by id: the first Resolved seen with those terms

    def intern(self, r: Resolved) -> tuple[Resolved, int]:
        k = (r.billed, r.period, r.version.version, r.catalog.version)
        tid = self.ids.get(k)
        if tid is None:
            tid = self.ids[k] = len(self.first)
            self.first.append(r)
        return r, tid

    def hour(self, memo: dict[tuple[str, int], Any], account: str, org: bool, hour: int) -> Any:
        """(Resolved, id) for the account's terms all hour; False / None as ``Resolver.hour_terms``."""
        t = self.resolver.hour_terms(account, org, hour)
        v = self.intern(t) if isinstance(t, Resolved) else t
        memo[account, hour] = v
        return v


def fold_step(
    events: Sequence[AcceptedEvent],
    states: Mapping[str, dict[str, Any] | None],
    resolver: Resolver,
    now: datetime,
) -> LiveOutputs:
    """``rate_batch`` with the same arguments and the same outputs (see the module docstring)."""
    terms = _Terms(resolver)
    orgs: dict[tuple[str, int], Any] = {}
    users: dict[tuple[str, int], Any] = {}
    groups: dict[_Key, list[AcceptedEvent]] = {}
    group_terms: dict[_Key, Resolved] = {}  # the terms of the group's first event, as rate_batch keeps them
    for ev in events:
        ts = ev.ts_ms
        h = ts // HOUR_MS
        t: Any = None
        org = ev.org_id
        if org:
            t = orgs.get((org, h), _MISS)
            if t is _MISS:
                t = terms.hour(orgs, org, True, h)
            if t is None:  # the org's terms change inside the hour
                r = resolver.at(org, True, ts)
                t = terms.intern(r) if r is not None else False
        if not t:  # no org, or the org is not billable: the user's own terms
            t = users.get((ev.user_id, h), _MISS)
            if t is _MISS:
                t = terms.hour(users, ev.user_id, False, h)
            if t is None:
                r = resolver.at(ev.user_id, False, ts)
                assert r is not None, "a user always has terms (the free tier at least)"
                t = terms.intern(r)
        key = (ev.account_id, t[1], ev.metric)
        g = groups.get(key)
        if g is None:
            groups[key] = [ev]
            group_terms[key] = t[0]
        else:
            g.append(ev)

    seats = _seat_groups(groups, group_terms, states)

    out = LiveOutputs()
    rated_at = now.isoformat()
    templates = Templates(rated_at)
    oldest_live = _period_key(now - LIVE_PERIODS_SPAN)
    keys: list[_Key] = list(groups)
    orders = {tid: (r.version.effective_from, r.version.version) for tid, r in enumerate(terms.first)}
    if len({orders[k[1]] for k in keys}) > 1:
        keys.sort(key=lambda k: orders[k[1]])  # stable, as rate_batch's sorted()
    ai_memo: dict[tuple[str, str, str, Any, Any], Decimal] = {}
    prefixes: dict[int, str] = {}
    for key in keys:
        routing, tid, metric = key
        evs = groups[key]
        t = group_terms[key]
        rule = t.rule(metric)
        entry = out.states.get(routing)
        if entry is None:
            entry = out.states[routing] = _pruned(states.get(routing) or {}, oldest_live)
        prefix = prefixes.get(tid)
        if prefix is None:
            prefix = prefixes[tid] = f"{t.billed}|{t.period}|"
        slot_key = prefix + metric
        slot = dict(entry.get(slot_key) or {})
        tpl = templates.of(tid, t, metric, rule, t.tier.rate_limit_per_minute)
        counter = Templates.counter(tpl)  # streams/live/native.py
        if counter is not None:
            used = slot.get("used")
            done = counter.rate(tpl[0], used, evs)
            if done is not None:  # else the kernel declined: the Python path below rates the group
                slot["used"], line, record, alerts_due = done
                out.rated.append(line)
                out.quota_records.append((quota_key(t.billed, metric), record))
                if alerts_due and not _alert_kinds(rule).issubset(slot.get("alerted", ())):
                    before = _num(used)
                    _alert(out, slot, t, metric, rule, before, before + sum([e.quantity for e in evs], ZERO), now)
                entry[slot_key] = slot
                continue
        before = _num(slot.get("used"))
        extra: dict[str, str] = {}
        amount_delta = ZERO
        if metric == SEAT_METRIC:
            known = slot.get("users") or []
            have = _seat_sets.of(known)
            new = seats.get(key, _NONE) - have
            count = len(have) + len(new)
            if count > before:
                slot["users"] = _seat_sets.grown(known, have, new)
            after = Decimal(count)
            if after == before and not evs:
                continue  # seats derived from other metrics' events, none new: nothing to tell
        elif metric == Metric.STORAGE_GB:
            held, twa = fold_readings(
                slot,
                (Sample(e.ts_ms, e.event_id, e.quantity) for e in evs),
                t.period_start_ms,
                t.period_end_ms,
                _kept_readings,
            )
            twa_text = fixed_text(twa)
            slot["prev_twa"], slot["twa"] = slot.get("twa"), twa_text
            after = held
            extra = {"time_weighted_average": twa_text}
        else:
            after = before + sum([e.quantity for e in evs], ZERO)
            if metric == Metric.PREMIUM_FEATURE:
                features = dict(slot.get("features", {}))
                for e in evs:
                    name = str(e.properties.get("feature", "unknown"))
                    features[name] = fixed_text(_num(features.get(name)) + e.quantity)
                    if rule.entitled:
                        amount_delta += e.quantity * rule.per_feature.get(name, ZERO)
                slot["features"] = features
            elif metric == Metric.AI_REQUESTS:
                cost = _num(slot.get("ai_cost"))
                table = t.catalog.ai_costs  # the catalog at the events' own time, as settlement prices
                for e in evs:
                    p = e.properties
                    ak = (
                        t.catalog.version,
                        str(p.get("provider", "")),
                        str(p.get("model", "")),
                        p.get("input_tokens"),
                        p.get("output_tokens"),
                    )
                    c = ai_memo.get(ak)
                    if c is None:
                        c = ai_memo[ak] = ai_request_cost(table, ak[1], ak[2], _int(ak[3]), _int(ak[4])).cost
                    cost += c
                cost_text = slot["ai_cost"] = fixed_text(cost)
                extra = {"ai_cost_to_date": cost_text}
        used_text = slot["used"] = fixed_text(after)
        if rule.per_feature:
            delta_amount, d_included, d_billable, unit_price = amount_delta, ZERO, ZERO, ZERO
        else:
            if metric == Metric.STORAGE_GB:
                billed_before, billed_after = _num(slot.get("prev_twa")), _num(extra.get("time_weighted_average"))
                slot.pop("prev_twa", None)
            else:
                billed_before, billed_after = before, after
            _, d_included, d_billable, unit_price, delta_amount = delta_parts(rule, billed_before, billed_after)
        out.rated.append(
            templates.rated_line(
                tpl,
                fixed_text(after - before),
                used_text,
                d_included,
                d_billable,
                unit_price,
                delta_amount,
                extra,
            )
        )
        out.quota_records.append((quota_key(t.billed, metric), templates.quota_record(tpl, after)))
        if after >= _first_threshold(rule) and not _alert_kinds(rule).issubset(slot.get("alerted", ())):
            _alert(out, slot, t, metric, rule, before, after, now)
        entry[slot_key] = slot
    return out


def _alert(
    out: LiveOutputs,
    slot: dict[str, Any],
    t: Resolved,
    metric: str,
    rule: MeteredRule,
    before: Decimal,
    after: Decimal,
    now: datetime,
) -> None:
    """Raise the alerts due at ``after`` not raised yet in the period, and remember them in the slot."""
    raised = slot.get("alerted", ())
    alerts = new_alerts(t.billed, metric, t.period, rule, before, after, now, raised)
    if alerts:
        slot["alerted"] = [*raised, *(a.kind for a in alerts)]
        out.alerts.extend(alerts)


#: Seat lists at least this long get their set remembered (a smaller one is cheap to build again).
SEAT_MEMO_FROM = 64
#: Seats held in remembered sets before the memo starts over: bounded memory (~40 bytes a seat, the
#: user ids themselves are the entries') for any number of organizations and members.
MAX_SEAT_MEMO_USERS = 1_000_000
_NONE: frozenset[str] = frozenset()


class _SeatSets:
    """The set of an entry's seat list, remembered by the list's identity.

    An organization's seat list grows through its period (hundreds of users), and every step with its
    usage needs it as a set: building that set each step made a step dearer as the period filled
    (docs/performance.md). Entries are never changed in place (a step writes new lists), and the agent
    keeps the decoded entries between steps, so the same list object means the same seats. The memo
    keeps the list itself, so its id cannot be reused while remembered."""

    def __init__(self) -> None:
        self.by_id: dict[int, tuple[list[str], set[str]]] = {}
        self.users = 0

    def of(self, users: list[str]) -> AbstractSet[str]:
        if len(users) < SEAT_MEMO_FROM:
            return frozenset(users)
        hit = self.by_id.get(id(users))
        if hit is not None and hit[0] is users:
            return hit[1]
        seen = set(users)
        self._put(users, seen)
        return seen

    def clear(self) -> None:
        self.by_id.clear()
        self.users = 0

    def _put(self, users: list[str], seen: set[str]) -> None:
        if self.users + len(seen) > MAX_SEAT_MEMO_USERS:
            self.by_id.clear()
            self.users = 0
        self.by_id[id(users)] = (users, seen)
        self.users += len(seen)

    def grown(self, known: list[str], have: AbstractSet[str], new: AbstractSet[str]) -> list[str]:
        """``sorted(have | new)``, the seat list ``rate_batch`` writes, and its set remembered for the next step.

        When the entry's list is without repeats, the few newcomers are inserted in place of sorting
        the whole list again. The remembered set moves to the new list (and grows): the old list is
        forgotten, so whoever still holds it gets its set built afresh."""
        if len(have) != len(known) or not new:
            return sorted(have | new)
        out = list(known)
        if len(new) <= 32:
            for user in new:
                insort(out, user)
        else:
            out += new
            out.sort()
        hit = self.by_id.pop(id(known), None)
        if hit is not None and hit[0] is known:
            self.users -= len(hit[1])
            hit[1].update(new)  # the same object as ``have``: done with in this step
            self._put(out, hit[1])
        return out


_seat_sets = _SeatSets()


def forget_memos() -> None:
    """Drop the remembered seat sets and storage readings: the agent calls it when it drops its decoded
    entries (a rebalance), whose lists the memos would otherwise keep alive until they fill up."""
    _seat_sets.clear()
    _kept_readings.clear()


def _seat_groups(
    groups: dict[_Key, list[AcceptedEvent]],
    group_terms: dict[_Key, Resolved],
    states: Mapping[str, dict[str, Any] | None],
) -> dict[_Key, set[str]]:
    """The seat group of each account, terms and step, as ``rate_batch`` adds them (in the same order):
    a group's users not already seats in the entry join the seat group of its terms."""
    seats: dict[_Key, set[str]] = {}
    known: dict[tuple[str, str], AbstractSet[str]] = {}  # (routing, seat slot) -> the entry's seats
    known_by_terms: dict[tuple[str, int], AbstractSet[str]] = {}  # the same sets, by terms id (no key text per group)
    for key, evs in list(groups.items()):
        routing, tid, metric = key
        t = group_terms[key]
        if metric != SEAT_METRIC:
            seen = known_by_terms.get((routing, tid))
            if seen is None:
                k = (routing, f"{t.billed}|{t.period}|{SEAT_METRIC}")
                seen = known.get(k)
                if seen is None:
                    slot = (states.get(routing) or {}).get(k[1]) or {}
                    seen = known[k] = _seat_sets.of(slot.get("users") or [])
                known_by_terms[routing, tid] = seen
            if len(evs) == 1:
                if evs[0].user_id in seen:
                    continue
                users = {evs[0].user_id}
            else:
                users = {e.user_id for e in evs}
                users -= seen
                if not users:
                    continue
        else:
            users = {e.user_id for e in evs}
        seat_key = (routing, tid, SEAT_METRIC)
        if seat_key not in groups:
            groups[seat_key] = []
            group_terms[seat_key] = t
        s = seats.get(seat_key)
        if s is None:
            seats[seat_key] = users
        else:
            s |= users
    return seats
