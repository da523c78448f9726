"""Monthly AI caps of an organization and of its members (issue 17, docs/ai-controls.md): whether a cap is
reached and which alert thresholds a period's use has crossed. Pure: the use is passed in."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from rating.money import ZERO

#: The shares of a cap at which an alert is raised (80 % and the cap itself).
THRESHOLDS: tuple[tuple[str, Decimal], ...] = (("80", Decimal("0.8")), ("100", Decimal(1)))
CAP_REACHED = "ai_cap_reached"


@dataclass(frozen=True, slots=True)
class AiCap:
    """One row's caps: a spend cap (USD), a request cap, and whether reaching one refuses (``hard``)."""

    spend: Decimal | None
    requests: int | None
    hard: bool

    @property
    def any(self) -> bool:
        return self.spend is not None or self.requests is not None


@dataclass(frozen=True, slots=True)
class AiUse:
    """AI requests and their platform cost (USD, full precision) in a period."""

    requests: Decimal = ZERO
    spend: Decimal = ZERO

    def __add__(self, other: AiUse) -> AiUse:
        return AiUse(self.requests + other.requests, self.spend + other.spend)


def reached(cap: AiCap, use: AiUse) -> tuple[str, ...]:
    """The caps of ``cap`` that ``use`` has reached: ``"spend"``, ``"requests"`` (a cap of 0 is reached at once)."""
    out = []
    if cap.spend is not None and use.spend >= cap.spend:
        out.append("spend")
    if cap.requests is not None and use.requests >= cap.requests:
        out.append("requests")
    return tuple(out)


def refusal(bound: Iterable[tuple[AiCap, AiUse]]) -> str | None:
    """``ai_cap_reached`` when a hard cap among ``bound`` (each cap with the use it counts) is reached, else None:
    an alert-only cap never refuses."""
    return CAP_REACHED if any(cap.hard and reached(cap, use) for cap, use in bound) else None


@dataclass(frozen=True, slots=True)
class CapCrossing:
    what: str  # "spend" | "requests"
    threshold: str  # "80" | "100"
    used: Decimal
    cap: Decimal


def crossings(cap: AiCap, use: AiUse) -> list[CapCrossing]:
    """Every threshold of every cap that ``use`` is at or past (the caller raises each once a period)."""
    out = []
    for what, limit, used in (("spend", cap.spend, use.spend), ("requests", cap.requests, use.requests)):
        if limit is None:
            continue
        limit_d = Decimal(limit)
        for name, share in THRESHOLDS:
            if used >= limit_d * share and (limit_d > 0 or name == "100"):
                out.append(CapCrossing(what, name, used, limit_d))
    return out
