"""Tax lines of self-issued invoices from a configured rate table (docs/invoices.md).

The table (``rating/catalog/tax.toml`` by default, empty) lists rates per country and optionally region,
each with the date it takes effect. Tax is computed on the sum of the invoice's other lines and rounded to
cents half-even once, at the tax line (docs/rating.md); a buyer with no rate gets no tax line.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from rating.catalog.loader import read_data_file
from rating.errors import RatingError
from rating.invoice import TAX_PREFIX, InvoiceLine
from rating.money import ZERO, line_amount


class TaxTableError(RatingError):
    """A tax table is malformed; the message names the file, the entry and the problem."""


@dataclass(frozen=True, slots=True)
class TaxRate:
    country: str
    region: str | None
    name: str
    rate: Decimal
    effective_from: date


@dataclass(frozen=True, slots=True)
class TaxTable:
    source: str
    rates: tuple[TaxRate, ...] = ()

    def in_effect(self, country: str | None, region: str | None, on: date) -> list[TaxRate]:
        """The rates a buyer in ``country``/``region`` owes on ``on``: for each (country, region, name) the
        latest that took effect by then; country-wide ones first."""
        if not country:
            return []
        latest: dict[tuple[str | None, str], TaxRate] = {}
        for r in self.rates:
            if r.country != country.upper() or r.effective_from > on:
                continue
            if r.region is not None and (region is None or r.region.upper() != region.upper()):
                continue
            key = (r.region, r.name)
            if key not in latest or latest[key].effective_from < r.effective_from:
                latest[key] = r
        return sorted(latest.values(), key=lambda r: (r.region is not None, r.region or "", r.name))


def tax_lines(lines: Sequence[InvoiceLine], rates: Sequence[TaxRate]) -> list[InvoiceLine]:
    """One ``tax:<rate>`` line per rate on the sum of the (non-tax) lines; none on a zero or negative base."""
    base = sum((ln.amount for ln in lines if not ln.code.startswith(TAX_PREFIX)), ZERO)
    if base <= ZERO:
        return []
    out = []
    for r in rates:
        where = f"{r.country}-{r.region}" if r.region else r.country
        out.append(
            InvoiceLine(
                code=f"{TAX_PREFIX}{r.rate.normalize():f}",
                description=f"{r.name} {(r.rate * 100).normalize():f}% ({where})",
                quantity=base,
                unit_price=r.rate,
                amount=line_amount(base * r.rate),
            )
        )
    return out


def parse_tax_table(text: str, source: str) -> TaxTable:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TaxTableError(f"{source}: {exc}") from exc
    rates = []
    for i, entry in enumerate(data.get("rates", [])):
        where = f"{source}: rates[{i}]"
        try:
            country = str(entry["country"])
            region = entry.get("region")
            rate = Decimal(str(entry["rate"]))
            start = entry["effective_from"]
            name = str(entry.get("name", "Tax"))
        except (KeyError, InvalidOperation, TypeError) as exc:
            raise TaxTableError(f"{where}: {exc!r}") from exc
        if len(country) != 2 or not country.isalpha() or not country.isupper():
            raise TaxTableError(f"{where}: country must be an ISO 3166-1 alpha-2 code, got {country!r}")
        if not ZERO <= rate < 1:
            raise TaxTableError(f"{where}: rate must be a fraction in [0, 1), got {rate}")
        if not isinstance(start, date):
            raise TaxTableError(f"{where}: effective_from must be a date (YYYY-MM-DD)")
        rates.append(TaxRate(country, str(region) if region else None, name, rate, start))
    return TaxTable(source, tuple(rates))


def load_tax_table(path: Path | None = None) -> TaxTable:
    """A tax table file, or the (empty) default shipped with Meterline."""
    return parse_tax_table(*read_data_file(path, "tax.toml", TaxTableError))
