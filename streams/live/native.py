"""The native kernel of the live rating step (rating/live/kernel/, Rust), when it is installed and not switched off.

``fold_step`` hands it the *plain counter* groups — a metric summed and priced by ``delta_parts`` alone, not
seats, storage, premium features or AI requests — and rates in Python every other group and every group
the kernel declines (a result ``Decimal`` would round, a negative quantity, text it does not read). The
kernel gives the same bytes as the Python path (tests/unit/streams/live/test_live_fold.py runs the fast
path's property test both ways; test_live_kernel.py compares its arithmetic and text with ``Decimal``).

``make venv`` builds it when cargo is on the PATH; without it every group is rated in Python. ``kernel`` is
the switch: the worker turns it off with ``METERLINE_LIVE_KERNEL=false`` (streams/settings.py, ``use``), the
tests and benchmarks set it.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING

from rating.catalog.model import MeteredRule
from rating.seats import SEAT_METRIC
from schemas.events import Metric

if TYPE_CHECKING:
    from meterline_kernel import Counter

#: Metrics with work beyond a sum and ``delta_parts``: always rated in Python (streams/live/fold.py).
NOT_PLAIN = frozenset({SEAT_METRIC, Metric.STORAGE_GB, Metric.PREMIUM_FEATURE, Metric.AI_REQUESTS})


def _load() -> ModuleType | None:
    try:
        import meterline_kernel
    except ImportError:
        return None
    module: ModuleType = meterline_kernel  # typed by its stub where installed, Any where not
    return module


kernel: ModuleType | None = _load()


def use(on: bool) -> None:
    """Rate plain counter groups with the kernel (when installed), or every group in Python."""
    global kernel
    kernel = _load() if on else None


def plain_counter(metric: str, rule: MeteredRule) -> bool:
    """Whether a group of ``metric`` under ``rule`` is the kernel's: a sum priced by ``delta_parts`` alone."""
    return metric not in NOT_PLAIN and not rule.per_feature


def counter(
    parts: tuple[bytes, bytes, bytes, bytes, str, str], rule: MeteredRule, first_alert: str | None
) -> Counter | None:
    """The kernel's ``Counter`` for a template's parts (``Templates``: line head and tail, quota head and
    tail, the included quantity's and hard cap's JSON) and its rule; None when the kernel is off or does not
    take the rule's figures (the Python path rates those groups)."""
    if kernel is None:
        return None
    text = [None if d is None else str(d) for d in (rule.included, rule.hard_cap, rule.unit_price)]
    try:
        made: Counter = kernel.Counter(*parts, rule.entitled, *text, first_alert)
    except ValueError:
        return None
    return made
