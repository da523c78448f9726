"""The live rating kernel's types (src/lib.rs): maturin installs this stub beside the extension."""

from typing import Any, final

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
    def rate(self, account: bytes, used: object, events: list[Any]) -> tuple[str, bytes, bytes, bool] | None:
        """A group's (entry's ``used`` text, rated line, quota-state record, whether alerts may be due), or None
        to decline; ``events``: a list of objects with a ``Decimal`` ``quantity``."""
