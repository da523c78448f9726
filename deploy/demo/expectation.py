"""What a simulated month should cost, for the demo's and the fault tests' check: the independent
expectation (deploy/demo/independent_invoices.py, written from the contract apart from ``rating/``) fed
with the generated subscriptions and every event sent (duplicates included: it deduplicates itself)."""

from __future__ import annotations

from pathlib import Path

from deploy.demo.independent_contracts import AddonRecord, Grant, Member
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
    ex = Expectation(
        sim.subscriptions,
        simulation_usage(sim),
        Catalog(catalog_path),
        addons=[
            AddonRecord(account, u.name, u.start, u.end, u.quantity, u.hours)
            for account, uses in sim.addons.items()
            for u in uses
        ],
        grants=[
            Grant(account, g.grant_id, g.amount, g.effective_at, g.expires_at, g.priority)
            for account, gs in sim.credits.items()
            for g in gs
        ],
        members=[Member(org, m.user_id, m.joined, m.left) for org, ms in sim.memberships.items() for m in ms],
    )
    wanted = {(a, *ex.period(a, sim.period.start)) for a in ex.subs} | ex.usage_periods()
    # In time order (sorted by account, then period start): a grant's earlier draws come first.
    return [ex.invoice(a, start, end) for a, start, end in sorted(wanted)]
