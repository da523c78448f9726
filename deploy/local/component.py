"""What every local stack component offers, and the status it reports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ComponentStatus:
    name: str
    running: bool
    pid: int | None
    address: str
    detail: str = ""


class Component(Protocol):
    name: str

    def install(self) -> None:
        """Fetch or build what the component needs (idempotent, fast when present)."""

    def start(self, timeout: float) -> None:
        """Start detached and wait until a real client call succeeds; no-op when already up."""

    def stop(self) -> bool:
        """Stop it; True if it was running."""

    def status(self) -> ComponentStatus: ...
