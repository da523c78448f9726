"""What a simulated month should cost, for the demo's and the fault tests' check: the independent
expectation (streams/independent_invoices.py, written from the contract apart from ``rating/``) fed
with the generated subscriptions and every event sent (duplicates included: it deduplicates itself)."""

from __future__ import annotations

from pathlib import Path

from streams.independent_invoices import Catalog, Expectation, Expected, Usage
from streams.simulate import Simulation

#: The source ``send_simulation`` sends under (the dedupe namespace of its events).
SIM_SOURCE = "simulate"


def simulation_usage(sim: Simulation) -> list[Usage]:
    return [
        Usage(SIM_SOURCE, e.event_id, e.ts, e.user_id, e.org_id, e.metric, e.quantity, e.properties)
        for e in [*sim.events, *sim.duplicates]
    ]


def expected_invoices(sim: Simulation, catalog_path: Path | None = None) -> dict[str, Expected]:
    """Every account's expected invoice of the simulated period."""
    ex = Expectation(sim.subscriptions, simulation_usage(sim), Catalog(catalog_path))
    return {a: ex.invoice(a, sim.period.start, sim.period.end) for a in sorted(ex.accounts())}
