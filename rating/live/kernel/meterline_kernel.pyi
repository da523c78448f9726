"""The live rating kernel's types (src/lib.rs): maturin installs this stub beside the extension."""

from decimal import Decimal
from typing import Protocol, final

class _Event(Protocol):
    @property
    def quantity(self) -> Decimal: ...

@final
class Counter:
    """One step's template of a plain counter metric and terms, with the metric's rule as integers."""

    def __new__(
        cls,
        line_head: bytes,
        line_tail: bytes,
        quota_head: bytes,
        quota_tail: bytes,
        included_json: str,
        cap_json: str,
        entitled: bool,
        included: str | None,
        hard_cap: str | None,
        unit_price: str | None,
        first_alert: str | None,
    ) -> Counter: ...
    def rate(self, account: bytes, used: object, events: list[_Event]) -> tuple[str, bytes, bytes, bool] | None: ...
