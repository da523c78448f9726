"""Period-to-date usage of an account per member, metric, AI provider and model, from the raw ``events``
(deduplicated by ``(source, event_id)``, as settlement reads them): what the admin panel's live usage and the AI
caps count (docs/ai-controls.md). Seconds behind the live stage (the warehouse sink's batches), never billed from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sinks.clickhouse.timefmt import ch_datetime64, ch_literal
from sinks.clickhouse.usage_queries import SettledReads


@dataclass(frozen=True, slots=True)
class MemberUsageRow:
    user_id: str
    metric: str
    provider: str  # "" unless the event named one
    model: str
    quantity: Decimal
    events: int
    input_tokens: int
    output_tokens: int


def member_usage_rows(
    reads: SettledReads, database: str, account: str, start: datetime, end: datetime, user_id: str | None = None
) -> list[MemberUsageRow]:
    """Every metric of the events routed to ``account`` (its ``org_id``) in [start, end), of every member or of
    ``user_id``: counts summed, the storage gauge's highest reading."""
    member = f"AND user_id = {ch_literal(user_id)} " if user_id is not None else ""
    sql = (
        "SELECT user_id, metric, provider, model, toString(if(metric = 'storage_gb', max(quantity), sum(quantity))), "
        "count(), "
        "sum(input_tokens), sum(output_tokens) FROM ("
        "SELECT user_id, metric, provider, model, quantity, input_tokens, output_tokens "
        f"FROM {database}.events WHERE account_id = {ch_literal(account)} "
        f"AND timestamp >= {ch_datetime64(start)} AND timestamp < {ch_datetime64(end)} "
        f"{member}"
        "LIMIT 1 BY source, event_id) "
        "GROUP BY user_id, metric, provider, model ORDER BY user_id, metric, provider, model"
    )
    return [
        MemberUsageRow(str(r[0]), str(r[1]), str(r[2]), str(r[3]), Decimal(r[4]), int(r[5]), int(r[6]), int(r[7]))
        for r in reads.rows(sql)
    ]
