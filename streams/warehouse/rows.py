"""Kafka records → ClickHouse rows for the tables fed straight from topics other than events:
``rated_usage`` (the live stage's provisional lines, ``usage.rated``) and ``subscriptions``
(``billing.subscriptions``). Rows are JSONEachRow lines; a record that cannot be read is skipped
with its position in the reason, never stopping the sink (the topic keeps it)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import orjson

from schemas.events import epoch_ms
from sinks.clickhouse.timefmt import ch_datetime, ch_datetime_ms
from streams.subscriptions.registry import decode_subscription

log = logging.getLogger(__name__)


def provisional_rows(value: bytes, partition: int, offset: int) -> list[bytes]:
    """One ``rated_usage`` row per live line of a ``usage.rated`` record; ``line_id`` comes from the
    record's position, so writing the same record again (a replay after a crash) replaces, not adds."""
    rows = []
    # A record's lines share their rated_at and a few period starts: format each once (this ran per
    # line and was most of the sink's time for usage.rated).
    rated_times: dict[str, tuple[str, str]] = {}
    starts: dict[int, str] = {}
    for i, raw in enumerate(value.split(b"\n")):
        if not raw.strip():
            continue
        try:
            ln: dict[str, Any] = orjson.loads(raw)
            times = rated_times.get(ln["rated_at"])
            if times is None:
                rated_ms = epoch_ms(datetime.fromisoformat(ln["rated_at"]).astimezone(UTC))
                times = rated_times[ln["rated_at"]] = (
                    ch_datetime_ms(rated_ms - rated_ms % 3_600_000)[:19],
                    ch_datetime_ms(rated_ms),
                )
            start_ms = int(ln["period_start_ms"])
            start = starts.get(start_ms)
            if start is None:
                start = starts[start_ms] = ch_datetime_ms(start_ms)[:19]
            row = {
                "account_id": ln["account_id"],
                "period": ln["period"],
                "period_start": start,
                "metric": ln["metric"],
                "dimension": "",
                "hour": times[0],
                "kind": "provisional",
                "line_id": f"{partition}:{offset}:{i}",
                "tier": ln.get("tier", ""),
                "quantity": ln["quantity"],
                "period_to_date": ln["period_to_date"],
                "included": ln["included"],
                "billable": ln["billable"],
                "unit_price": ln["unit_price"],
                "amount": ln["amount"],
                "catalog_version": ln["catalog_version"],
                "sub_version": int(ln["subscription_version"]),
                "rated_at": times[1],
            }
        except (ValueError, KeyError, TypeError) as exc:
            log.error("skipping rated line %s:%s:%s: %s", partition, offset, i, exc)
            continue
        rows.append(orjson.dumps(row))
    return rows


def subscription_rows(value: bytes, offset: int) -> list[bytes]:
    """The versions a ``billing.subscriptions`` record carries (its history and itself)."""
    try:
        versions = decode_subscription(value)
    except ValueError as exc:
        log.error("skipping subscription record at offset %s: %s", offset, exc)
        return []
    rows = []
    for v in versions:
        eff = v.effective_from.astimezone(UTC)
        rows.append(
            orjson.dumps(
                {
                    "account_id": v.account_id,
                    "account_kind": v.account_kind,
                    "tier": v.tier,
                    "status": v.status,
                    "interval": v.interval,
                    "anchor": v.anchor.isoformat(),
                    "effective_from": ch_datetime(eff),
                    "version": v.version,
                    "stripe_customer_id": v.stripe_customer_id or "",
                    "stripe_subscription_id": v.stripe_subscription_id or "",
                    "contract": v.contract.model_dump_json(exclude_none=True) if v.contract else "",
                    "reason": v.reason or "",
                }
            )
        )
    return rows
