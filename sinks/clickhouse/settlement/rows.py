"""Named rows read back from the settlement tables, for the Stripe reporters and reconciliation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class BillableHour:
    """The billable quantity of one settled (account, metric, dimension, hour) of ``rated_usage``."""

    account_id: str
    metric: str
    dimension: str
    hour: datetime
    billable: Decimal


@dataclass(frozen=True, slots=True)
class FinalLine:
    """One line code's quantity on an account's finalized invoice for [period_start, period_end)."""

    account_id: str
    period_start: datetime
    period_end: datetime
    quantity: Decimal
