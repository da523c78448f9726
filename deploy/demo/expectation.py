"""What a simulated month should cost, for the demo's and the fault tests' check: the independent
expectation (deploy/demo/independent_invoices.py, written from the contract apart from ``rating/``) fed
with the generated subscriptions and every event sent (duplicates included: it deduplicates itself)."""

from __future__ import annotations

from pathlib import Path

from deploy.demo.independent_invoices import Catalog, Expectation, Expected, Usage
from deploy.demo.simulate import Simulation

#: The source ``send_simulation`` sends under (the dedupe namespace of its events).
SIM_SOURCE = "simulate"


def simulation_usage(sim: Simulation) -> list[Usage]:
    return [
        Usage(SIM_SOURCE, e.event_id, e.ts, e.user_id, e.org_id, e.metric, e.quantity, e.properties)
        for e in [*sim.events, *sim.duplicates]
    ]


def expected_invoices(sim: Simulation, catalog_path: Path | None = None) -> list[Expected]:
    """The expected invoices of the simulated month: every subscribed account's period holding the month's
    start, and every period of every account the month's usage is billed in (accounts without a
    subscription have periods on the 1st, so the month spans two of theirs)."""
    ex = Expectation(sim.subscriptions, simulation_usage(sim), Catalog(catalog_path))
    wanted = {(a, *ex.period(a, sim.period.start)) for a in ex.subs} | ex.usage_periods()
    return [ex.invoice(a, start, end) for a, start, end in sorted(wanted)]
