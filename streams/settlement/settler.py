"""Settlement: closed hours recomputed from ClickHouse, rated, compared with the live view; periods
finalized into invoices; late usage of a finalized period carried as a correction (docs/architecture.md §7).

``Settler.settle(until, now)`` is idempotent: it recomputes every hour that closed since the last
run (windows ending at or before ``until``) and every earlier hour that received events since, from
the deduplicated events, and writes rows that replace the previous ones. Running it twice changes
nothing. The worker calls it on a timer with ``until = now - lateness``; ``meterline settle`` on demand.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from rating.catalog.loader import Catalog
from rating.catalog.model import CatalogVersion
from rating.credits import CREDIT_PREFIX, CreditGrant, crossed_low, is_charge
from rating.invoice import (
    CARRIED,
    CORRECTION_PREFIX,
    Correction,
    Invoice,
    LineTotal,
    billing_segments,
    carry_negative,
    preview_invoice,
    totals_by_code,
)
from rating.money import ZERO
from rating.periods import Period, contract_year_containing, next_period
from rating.seats import Membership
from rating.settle import (
    HistoryLookup,
    HourlyUsage,
    account_anchor,
    account_period,
    account_period_named,
    counts_members,
    hourly_usage,
    rated_lines,
    tier_name,
    usage_by_segment,
    version_for,
    with_members,
)
from rating.subscriptions import Segment, SubscriptionHistory
from rating.tax import TaxRate, tax_lines
from rating.usage import PeriodUsage
from sinks.clickhouse.settlement import EPOCH, SettlementStore
from streams.settlement.pacing import Pacer

log = logging.getLogger(__name__)
HOUR = timedelta(hours=1)
#: Events stored this recently may still be in flight in another insert: picked up by the next run.
VISIBILITY_MARGIN = timedelta(seconds=60)
#: Hours read from ClickHouse at once (bounds memory on a first run over a month of events).
CHUNK_HOURS = 24
#: Accounts re-rated or invoiced together: one read and one write per group, a month of hours in memory.
ACCOUNTS_PER_BATCH = 250
#: Routing accounts recomputed at once within a chunk of hours.
RECOMPUTE_ACCOUNTS = 2_500


def floor_hour(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True, slots=True)
class InvoiceInputs:
    """One account's inputs of ``preview_invoice`` for a period (``Settler.invoice_inputs``)."""

    catalog: CatalogVersion
    history: SubscriptionHistory
    usage: list[PeriodUsage]  # per billing segment
    rows: list[HourlyUsage]  # the settled hourly rows read
    corrections: list[Correction]
    credits: list[CreditGrant]
    charged_earlier_in_year: Decimal


@dataclass
class SettleResult:
    until: datetime
    windows: int = 0  # account-hours recomputed
    accounts: set[str] = field(default_factory=set)  # billing accounts touched
    finalized: list[str] = field(default_factory=list)  # invoice ids
    corrections: int = 0
    differences: int = 0

    def summary(self) -> dict[str, object]:
        return {
            "until": self.until.isoformat(),
            "windows": self.windows,
            "accounts": len(self.accounts),
            "finalized": len(self.finalized),
            "corrections": self.corrections,
            "differences": self.differences,
        }


class Settler:
    def __init__(
        self,
        store: SettlementStore,
        catalog: Catalog,
        histories: HistoryLookup,
        subscribed: Callable[[], Iterable[str]],
        *,
        grace: timedelta = timedelta(hours=24),
        on_difference: Callable[[str, str, str, Decimal], None] | None = None,
        visibility_margin: timedelta = VISIBILITY_MARGIN,
        pacer: Pacer | None = None,
        taxes: Callable[[str, Period], Sequence[TaxRate]] | None = None,
        addons: Callable[[str, Period], Mapping[str, Decimal]] | None = None,
        credits: Callable[[str], Sequence[CreditGrant]] | None = None,
        on_credit_low: Callable[[str, CreditGrant, Decimal, Period], None] | None = None,
        members: Callable[[str], Sequence[Membership]] | None = None,
    ) -> None:
        """``subscribed``: every account with a subscription (they get invoices even without usage).
        ``pacer``: called after each chunk of hours and each group of accounts (unpaced by default).
        ``taxes``: the tax rates an account's invoice of a period carries (docs/invoices.md; none by default).
        ``addons``: an account's add-on quantities of a period (``streams.store.addons``; none by default).
        ``credits``: an account's credit grants (``streams.store.credits``; none by default).
        ``on_credit_low``: told once per grant a final invoice took below its low balance (account, grant,
        what remains, period).
        ``members``: an organization's membership history (``streams.store.memberships``), read for the
        accounts whose seats are ``provisioned`` (rating/seats.py; none by default)."""
        self._taxes, self._addons, self._credits, self._members = taxes, addons, credits, members
        self._on_credit_low = on_credit_low
        self._store, self._catalog, self._histories = store, catalog, histories
        self._subscribed, self._grace = subscribed, grace
        self._on_difference, self._margin = on_difference, visibility_margin
        self._pace = pacer or Pacer()

    def settle(self, until: datetime, now: datetime) -> SettleResult:
        self._pace.begin()
        last = self._store.last_run()
        # Hours before the last run's cutoff are closed already: an earlier ``until`` (``meterline settle --until``
        # behind the worker) still settles them, else their events stored since would be skipped for good.
        cutoff = max(floor_hour(until), last.until) if last is not None else floor_hour(until)
        result = SettleResult(cutoff)
        first = self._store.first_event_hour()
        stored_upto = now - self._margin
        if last is None:
            closed_from, stored_after, prev_until = first or cutoff, EPOCH, first or cutoff
        else:
            closed_from, stored_after, prev_until = last.until, last.stored_until, last.until
        dirty = self._store.dirty_hours(closed_from, cutoff, stored_after, max(stored_after, stored_upto))
        touched: dict[tuple[str, str], Period] = {}
        hours = sorted(dirty)
        for i in range(0, len(hours), CHUNK_HOURS):
            chunk = hours[i : i + CHUNK_HOURS]
            result.windows += sum(len(dirty[h]) for h in chunk)
            # By groups of routing accounts: an hour's rows come from its routing accounts' own events, so
            # the groups are independent; smaller pieces bound memory and let a pacer pause between them.
            for group in _groups(set().union(*(dirty[h] for h in chunk)), RECOMPUTE_ACCOUNTS):
                part = {h: dirty[h] & group for h in chunk}
                part = {h: accounts for h, accounts in part.items() if accounts}
                rows = self._recompute(sorted(part), part)
                self._store.write_hourly(rows, now)
                for r in rows:
                    p = account_period(r.account_id, self._histories, r.hour)
                    touched[(r.account_id, p.key)] = p
                self._pace()
        for period, accounts in _by_period(touched).items():
            result.accounts |= accounts
            for group in _groups(accounts):
                self._rerate(group, period, now)
                self._pace()
            for account in sorted(self._store.finalized_many(accounts, period.key)):
                result.corrections += self._correct(account, period, now)
                if (year_end := self._year_end_to_redo(account, period)) is not None:
                    result.corrections += self._correct(account, year_end, now)
        result.finalized = self._finalize_due(prev_until, cutoff, now, result)
        self._store.record_run(
            now,
            max(cutoff, last.until) if last else cutoff,
            stored_after,
            max(stored_after, stored_upto),
            {"windows": result.windows, "accounts": len(result.accounts), "finalized": len(result.finalized)},
        )
        return result

    def _recompute(self, hours: list[datetime], dirty: dict[datetime, set[str]]) -> list[HourlyUsage]:
        """Hourly rows of the given hours, each from all of its routing accounts' deduplicated events,
        plus a zero row (``events = 0``, a retraction) for every earlier row of those hours that the
        recompute no longer produces: its billing account, tier or subscription version changed (a
        subscription published late, an organization that stopped paying)."""
        accounts = set().union(*(dirty[h] for h in hours))
        events = [
            e
            for e in self._store.events(hours[0], hours[-1] + HOUR, accounts)
            if e.routing_account in dirty.get(floor_hour(e.at), ())
        ]
        rows = hourly_usage(events, self._histories, self._catalog)
        fresh = {_key(r) for r in rows}
        stale = [r for r in self._store.hourly_keys({h: dirty[h] for h in hours}) if _key(r) not in fresh]
        return rows + stale

    @property
    def histories(self) -> HistoryLookup:
        return self._histories

    def catalog_at(self, at: datetime) -> CatalogVersion:
        return self._catalog.at(at)

    def typical_daily(self, tier: str, start: datetime, end: datetime) -> dict[str, float]:
        """The tier's median daily usage per summed metric over [start, end) (a forecast without history)."""
        return self._store.typical_daily(tier, start, end)

    def _history(self, account: str) -> SubscriptionHistory:
        return self._histories(account) or SubscriptionHistory(account)

    def _rerate(self, accounts: set[str], period: Period, now: datetime) -> None:
        """Settled rated lines of the accounts' whole period (one read and one write for all of them)."""
        rows = self._store.hourly_many(accounts, period.start, period.end)
        cat = self._catalog.at(period.start)
        lines = []
        for account in sorted(accounts):
            segments = billing_segments(self._history(account), period, cat)
            lines += rated_lines(account, period, rows.get(account, []), segments, self._catalog)
        self._store.write_rated(lines, now)

    def invoice(self, account: str, period: Period, *, final: bool = False) -> Invoice:
        """The invoice of ``period`` from settled data (a draft unless ``final``)."""
        return self._invoices([account], period, final=final)[account]

    def _invoices(self, accounts: list[str], period: Period, *, final: bool = False) -> dict[str, Invoice]:
        rows = self._store.hourly_many(accounts, period.start, period.end)
        storage = self._store.storage_many(accounts, period, self._histories)
        corrections = self._store.corrections_many(accounts, period.key)
        cat = self._catalog.at(period.start)
        grants, charged_in_year = self._credits_and_commitments(accounts, period)
        out = {}
        for account in accounts:
            history = self._history(account)
            segments = billing_segments(history, period, cat)
            usage = self._completed(
                account, period, segments, usage_by_segment(rows.get(account, []), segments, storage[account]), cat
            )
            invoice = preview_invoice(
                history,
                usage,
                period,
                cat,
                status="final" if final else "draft",
                corrections=corrections.get(account, []),
                credits=grants.get(account, ()),
                charged_earlier_in_year=charged_in_year.get(account, ZERO),
            )
            rates = self._taxes(account, period) if self._taxes is not None else ()
            if rates:
                invoice = replace(invoice, lines=(*invoice.lines, *tax_lines(invoice.lines, rates)))
            out[account] = invoice
        return out

    def _completed(
        self, account: str, period: Period, segments: Sequence[Segment], usage: list[PeriodUsage], cat: CatalogVersion
    ) -> list[PeriodUsage]:
        """Settled usage with what the billing store adds: the period's add-ons (on the last stretch) and, for
        seats on the ``provisioned`` basis, the most members of each stretch."""
        if self._addons is not None and (addons := self._addons(account, period)):
            usage[-1] = replace(usage[-1], addons=addons)
        if self._members is not None and counts_members(segments, cat):
            usage = with_members(usage, segments, self._members(account))
        return usage

    def _tell_low_credits(self, accounts: list[str], invoices: dict[str, Invoice], period: Period) -> None:
        if self._on_credit_low is None or self._credits is None:
            return
        drew = [a for a in accounts if any(ln.code.startswith(CREDIT_PREFIX) for ln in invoices[a].lines)]
        grants, _ = self._credits_and_commitments(drew, period)
        for account in drew:
            by_code = {CREDIT_PREFIX + g.grant_id: g for g in grants.get(account, [])}
            for ln in invoices[account].lines:
                grant = by_code.get(ln.code)
                if grant is not None and (left := crossed_low(grant, -ln.amount)) is not None:
                    self._on_credit_low(account, grant, left, period)

    def invoice_inputs(self, account: str, period: Period, *, until: datetime, history_from: datetime) -> InvoiceInputs:
        """What the invoice of ``period`` is computed from, with usage settled before ``until`` only, and
        the account's settled hourly rows from ``history_from`` (the forecast's history, docs/forecasting.md)."""
        return self.invoice_inputs_many([account], period, until=until, history_from=history_from)[account]

    def invoice_inputs_many(
        self, accounts: Sequence[str], period: Period, *, until: datetime, history_from: datetime
    ) -> dict[str, InvoiceInputs]:
        """``invoice_inputs`` of several accounts of the same period, in one read of each table (the forecast
        refresh after each settlement run reads hundreds at once)."""
        cat = self._catalog.at(period.start)
        rows = self._store.hourly_many(accounts, history_from, until)
        storage = self._store.storage_many(accounts, period, self._histories)
        corrections = self._store.corrections_many(accounts, period.key)
        grants, charged_in_year = self._credits_and_commitments(list(accounts), period)
        out = {}
        for account in accounts:
            history = self._history(account)
            segments = billing_segments(history, period, cat)
            mine = rows.get(account, [])
            usage = usage_by_segment([r for r in mine if r.hour >= period.start], segments, storage[account])
            out[account] = InvoiceInputs(
                cat,
                history,
                self._completed(account, period, segments, usage, cat),
                mine,
                corrections.get(account, []),
                grants.get(account, []),
                charged_in_year.get(account, ZERO),
            )
        return out

    def settled_until(self) -> datetime | None:
        """The settled watermark: every hour before it is settled (None before the first run)."""
        last = self._store.last_run()
        return last.until if last is not None else None

    def live_since(self, accounts: Iterable[str], start: datetime, end: datetime) -> dict[str, dict[str, Decimal]]:
        """The live stage's provisional API calls and AI requests rated in [start, end) (a forecast's live part)."""
        return self._store.provisional_many(accounts, start, end)

    def tax_rates(self, account: str, period: Period) -> Sequence[TaxRate]:
        return self._taxes(account, period) if self._taxes is not None else ()

    def _credits_and_commitments(
        self, accounts: list[str], period: Period
    ) -> tuple[dict[str, list[CreditGrant]], dict[str, Decimal]]:
        """The accounts' credit grants with what the finalized invoices of earlier periods left of them, and
        what the earlier invoices of the contract year charged for those with a per-year commitment."""
        grants: dict[str, list[CreditGrant]] = {}
        if self._credits is not None:
            grants = {a: g for a in accounts if (g := list(self._credits(a)))}
        drawn = self._store.earlier_amounts_many(grants, EPOCH, period.start) if grants else {}
        for account, gs in grants.items():
            codes = drawn.get(account, {})
            grants[account] = [
                replace(g, remaining=g.remaining + codes.get(f"{CREDIT_PREFIX}{g.grant_id}", ZERO)) for g in gs
            ]
        yearly: dict[Period, list[str]] = {}
        for account in accounts:
            version = self._history(account).at(period.end - HOUR)
            if version is None or version.contract is None or version.contract.commitment is None:
                continue
            if version.contract.commitment.per == "contract_year":
                yearly.setdefault(contract_year_containing(version.anchor, period.start), []).append(account)
        charged: dict[str, Decimal] = {}
        for year, group in yearly.items():
            # The year's own usage before this period: its earlier invoices' own lines and the corrections of
            # those periods wherever carried (this invoice counts those it carries itself); not the corrections of
            # the year before, whose own true-up is corrected with them.
            carried = self._store.corrections_of_many(group, year.key, period.key, period.key)
            for account, codes in self._store.earlier_amounts_many(group, year.start, period.start).items():
                own = sum((a for c, a in codes.items() if is_charge(c) and not c.startswith(CORRECTION_PREFIX)), ZERO)
                of_year = sum((a for c, a in carried.get(account, {}).items() if is_charge(c)), ZERO)
                charged[account] = own + of_year
        return grants, charged

    def document(self, account: str, period: Period) -> dict[str, object] | None:
        """The finalized invoice document of the period, else the draft from settled data."""
        final = self._store.finalized(account, period.key)
        return final.document if final is not None else self.invoice(account, period).to_document()

    def _finalize_due(self, prev_until: datetime, cutoff: datetime, now: datetime, result: SettleResult) -> list[str]:
        """Finalize every period that ended (plus grace) by ``cutoff`` and is not final yet."""
        horizon = cutoff - self._grace
        since = prev_until - self._grace - timedelta(days=62)  # a period is at most 31 days; two for safety
        candidates = set(self._subscribed()) | self._store.accounts_with_usage(since, horizon)
        finalized = self._store.finalized_periods_many(candidates)
        due: dict[tuple[datetime, datetime, str], set[str]] = {}
        spans: dict[tuple[datetime, datetime, str], Period] = {}
        for account in candidates:
            p = account_period(account, self._histories, since)
            while p.end <= horizon:
                if p.key not in finalized.get(account, set()):
                    span = (p.start, p.end, p.key)
                    due.setdefault(span, set()).add(account)
                    spans[span] = p
                p = next_period(account_anchor(account, self._histories, p.end), p)
        done = []
        for span, accounts in sorted(due.items()):
            for group in _groups(accounts):
                done += self._finalize(sorted(group), spans[span], now, result)
                self._pace()
        return done

    def _finalize(self, accounts: list[str], period: Period, now: datetime, result: SettleResult) -> list[str]:
        """Final invoices of the accounts active in ``period`` (a subscription or settled usage), and the
        differences between their live and settled totals."""
        with_usage = self._store.accounts_with_usage(period.start, period.end) & set(accounts)
        active = [a for a in accounts if a in with_usage or self._history(a).segments(period)]
        if not active:
            return []
        invoices = self._invoices(active, period, final=True)
        for account in active:
            invoices[account], carried = carry_negative(invoices[account])
            if carried:  # written before the invoice: a run stopped in between writes the same row again
                target = self._open_period_after(account, period)
                self._store.write_correction(account, period.key, CARRIED, target.key, Decimal(-1), carried, now)
        cat = self._catalog.at(period.start)
        tiers = {a: tier_name(version_for(a, "user", self._histories, period.end - HOUR), cat) for a in active}
        ids = self._store.write_invoices([(invoices[a], tiers[a]) for a in active], now)
        self._tell_low_credits(active, invoices, period)
        live = self._store.period_totals_many(active, period.key, "provisional")
        settled = self._store.period_totals_many(active, period.key, "settled")
        for account in active:
            lv_all, st_all = live.get(account, {}), settled.get(account, {})
            diffs = {
                m: (lv_all.get(m, ZERO), st_all.get(m, ZERO))
                for m in set(lv_all) | set(st_all)
                if lv_all and lv_all.get(m, ZERO) != st_all.get(m, ZERO)
            }
            if not diffs:
                continue
            self._store.write_diffs(account, period.key, diffs, now)
            for m, (lv, st) in diffs.items():
                log.warning(
                    "live and settled totals differ: %s %s %s live=%s settled=%s", account, period.key, m, lv, st
                )
                if self._on_difference:
                    self._on_difference(account, period.key, m, lv - st)
            result.differences += len(diffs)
        return ids

    def _correct(self, account: str, period: Period, now: datetime) -> int:
        """Late usage of a finalized period: the change of each line goes to the next open period."""
        final = self._store.finalized(account, period.key)
        assert final is not None
        draft = self.invoice(account, period)
        redone = totals_by_code(draft.lines)
        already = self._store.corrected(account, period.key)
        target = self._open_period_after(account, period)
        written = 0
        for code in sorted(set(redone) | set(final.lines)):
            # What the line would now be, minus what was finalized and what other periods already carry.
            now_total, final_total = redone.get(code, LineTotal()), final.lines.get(code, LineTotal())
            elsewhere = [lt for (c, t), lt in already.items() if c == code and t != target.key]
            d_qty = now_total.quantity - final_total.quantity - sum((lt.quantity for lt in elsewhere), ZERO)
            d_amount = now_total.amount - final_total.amount - sum((lt.amount for lt in elsewhere), ZERO)
            if LineTotal(d_qty, d_amount) != already.get((code, target.key), LineTotal()):
                self._store.write_correction(account, period.key, code, target.key, d_qty, d_amount, now)
                written += 1
        return written

    def _year_end_to_redo(self, account: str, period: Period) -> Period | None:
        """The final last period of ``period``'s contract year when a per-year commitment trued it up: a change of
        an earlier period of the year changes what the year charged, so that true-up is corrected too."""
        version = self._history(account).at(period.end - HOUR)
        commitment = version.contract.commitment if version is not None and version.contract is not None else None
        if version is None or commitment is None or commitment.per != "contract_year":
            return None
        year = contract_year_containing(version.anchor, period.start)
        if year.end == period.end:
            return None
        last = account_period(account, self._histories, year.end - HOUR)
        return last if last.key in self._store.finalized_periods(account) else None

    def _open_period_after(self, account: str, period: Period) -> Period:
        finalized = self._store.finalized_periods(account)
        p = next_period(account_anchor(account, self._histories, period.end), period)
        while p.key in finalized:
            p = next_period(account_anchor(account, self._histories, p.end), p)
        return p


def period_of(account: str, histories: HistoryLookup, key: str) -> Period:
    """The account's usage period named ``key`` (YYYY-MM), on the anchor settlement uses for it."""
    return account_period_named(account, histories, key)


def _by_period(touched: dict[tuple[str, str], Period]) -> dict[Period, set[str]]:
    """Touched accounts grouped by their (identical) usage period, so each group is read and written once."""
    out: dict[Period, set[str]] = {}
    for (account, _), period in touched.items():
        out.setdefault(period, set()).add(account)
    return out


def _groups(accounts: set[str], size: int = ACCOUNTS_PER_BATCH) -> list[set[str]]:
    items = sorted(accounts)
    return [set(items[i : i + size]) for i in range(0, len(items), size)]


def _key(r: HourlyUsage) -> tuple[object, ...]:
    """The ``usage_hourly`` sorting key: rows with the same key replace each other."""
    return (r.account_id, r.metric, r.hour, r.routing_account, r.user_id, r.dimension, r.sub_version)
