"""When a contract's current term ends (docs/rating.md, "Contracts"): an auto-renewing contract renews for
``renewal_months`` at a time from ``ends_on``; one that ends, ends on ``ends_on``."""

from __future__ import annotations

from datetime import date

from rating.catalog.model import ContractTerm
from rating.periods import add_months


def term_end(term: ContractTerm, on: date) -> date | None:
    """The end of the term in effect on ``on`` (None: the contract has ended by then)."""
    if term.renewal == "end":
        return term.ends_on if on < term.ends_on else None
    end, n = term.ends_on, 0
    while end <= on:
        n += 1
        end = add_months(term.ends_on, n * term.renewal_months)
    return end
