"""Reads of the deduplicated ``events`` table: what to settle, and storage readings by billing account."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from rating.aggregation import GaugeState
from rating.money import ZERO
from rating.periods import Period
from rating.settle import HistoryLookup, SettledEvent, storage_gauge
from rating.subscriptions import billable_since, billing_account
from sinks.clickhouse.settlement.tables import Tables, chunks, from_ms, in_list
from sinks.clickhouse.timefmt import ch_datetime64 as _dt
from sinks.clickhouse.timefmt import ch_literal as _lit
from sinks.clickhouse.timefmt import from_ch as _utc


class EventReads(Tables):
    def first_event_hour(self) -> datetime | None:
        rows = self._rows(f"SELECT min(toStartOfHour(timestamp)), count() FROM {self._db}.events")
        return _utc(rows[0][0]) if rows and rows[0][1] else None

    def dirty_hours(
        self, closed_from: datetime, until: datetime, stored_after: datetime, stored_until: datetime
    ) -> dict[datetime, set[str]]:
        """Routing accounts per hour to recompute: every hour newly closed in [closed_from, until), and
        earlier hours that received events stored in (stored_after, stored_until]."""
        sql = (
            f"SELECT toStartOfHour(timestamp) AS h, groupUniqArray(account_id) FROM {self._db}.events "
            f"WHERE timestamp < {_dt(until)} AND (timestamp >= {_dt(closed_from)} OR "
            f"(stored_at > {_dt(stored_after)} AND stored_at <= {_dt(stored_until)})) GROUP BY h ORDER BY h"
        )
        return {_utc(h): set(accs) for h, accs in self._rows(sql)}

    def events(self, start: datetime, end: datetime, accounts: Iterable[str] | None = None) -> list[SettledEvent]:
        """The events of [start, end), deduplicated by (source, event_id) (of the given routing accounts)."""
        where = f"timestamp >= {_dt(start)} AND timestamp < {_dt(end)}"
        if accounts is not None:
            where += f" AND account_id IN {in_list(sorted(accounts))}"
        sql = (
            "SELECT event_id, account_id, user_id, org_id, metric, toString(quantity), ts_ms, feature, provider, "
            f"model, input_tokens, output_tokens FROM {self._db}.events WHERE {where} LIMIT 1 BY source, event_id"
        )
        rows = self._rows(sql)
        return [
            SettledEvent(
                event_id=event_id,
                routing_account=account,
                user_id=user,
                org_id=org or None,
                metric=metric,
                quantity=Decimal(quantity),
                ts_ms=int(ts_ms),
                feature=feature or "",
                provider=provider or "",
                model=model or "",
                input_tokens=int(tin),
                output_tokens=int(tout),
            )
            for event_id, account, user, org, metric, quantity, ts_ms, feature, provider, model, tin, tout in rows
        ]

    def storage_many(self, accounts: Iterable[str], period: Period, histories: HistoryLookup) -> dict[str, GaugeState]:
        """Each account's storage readings in the period and the last one before it: the readings billed
        to it at their own time (an organization's while it is billable, else its user's; docs/rating.md),
        wherever they were taken."""
        wanted = list(accounts)
        carried: dict[str, tuple[int, str, Decimal]] = {}
        inside: dict[str, list[tuple[int, str, Decimal]]] = {}

        def billed(user: str, org: str | None, ts_ms: int) -> str:
            return billing_account(org, user, histories(org) if org else None, from_ms(ts_ms))[0]

        def carry(user: str, org: str | None, reading: tuple[int, str, Decimal]) -> str:
            acc = billed(user, org, reading[0])
            if acc in accounts_set and reading[:2] > carried.get(acc, (-1, "", ZERO))[:2]:
                carried[acc] = reading
            return acc

        accounts_set = set(wanted)
        for chunk in chunks(wanted):
            ids = in_list(chunk)
            # Routed to the account (its own readings, or its organization's), or taken by the user anywhere.
            base = (
                f"FROM {self._db}.events WHERE metric = 'storage_gb' "
                f"AND (account_id IN {ids} OR (org_id IS NOT NULL AND user_id IN {ids}))"
            )
            for user, org, t, e, q in self._rows(
                f"SELECT user_id, org_id, ts_ms, event_id, toString(quantity) {base} "
                f"AND timestamp >= {_dt(period.start)} AND timestamp < {_dt(period.end)} LIMIT 1 BY source, event_id"
            ):
                acc = billed(user, org or None, int(t))
                if acc in accounts_set:
                    inside.setdefault(acc, []).append((int(t), e, Decimal(q)))
            last = "argMax(tuple(ts_ms, event_id, toString(quantity)), (ts_ms, event_id))"
            for user, org, (t, e, q) in self._rows(
                f"SELECT user_id, org_id, {last} {base} AND timestamp < {_dt(period.start)} GROUP BY user_id, org_id"
            ):
                reading = (int(t), e, Decimal(q))
                org = org or None
                # The pair's last reading went to one side; while the other is owed an earlier one that could
                # still be its latest, step back over the organization's billability changes.
                while org is not None:
                    acc = carry(user, org, reading)
                    other = org if acc == user else user
                    if other not in accounts_set or carried.get(other, (-1, "", ZERO))[:2] > reading[:2]:
                        break
                    since = billable_since(histories(org), from_ms(reading[0]))
                    if since is None:
                        break
                    earlier = self._rows(
                        f"SELECT {last} FROM {self._db}.events WHERE metric = 'storage_gb' "
                        f"AND account_id = {_lit(org)} AND org_id = {_lit(org)} AND user_id = {_lit(user)} "
                        f"AND timestamp < {_dt(since)} HAVING count() > 0"
                    )
                    if not earlier:
                        break
                    t, e, q = earlier[0][0]
                    reading = (int(t), e, Decimal(q))
                if org is None:
                    carry(user, None, reading)
        return {a: storage_gauge(carried[a][2] if a in carried else ZERO, inside.get(a, [])) for a in wanted}
