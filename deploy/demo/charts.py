"""The demo report's charts, drawn by matplotlib as inline SVG (the report is one file, readable offline).

Figures are made with ``matplotlib.figure.Figure``, not pyplot: no backend, display or global state."""

from __future__ import annotations

import io
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import date
from decimal import Decimal

from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from rating.money import money_display

WIDTH_IN = 7.5


def _style() -> AbstractContextManager[None]:
    return rc_context({"svg.fonttype": "none", "font.size": 9, "axes.spines.top": False, "axes.spines.right": False})


def _svg(fig: Figure) -> str:
    out = io.StringIO()
    fig.savefig(out, format="svg", bbox_inches="tight")
    text = out.getvalue()
    return text[text.index("<svg") :]  # inline in the page: without the XML prolog and doctype


def daily_line(points: Sequence[tuple[date, Decimal]], color: str, unit: str) -> str:
    """A count per day (the settled usage of the period)."""
    with _style():
        fig = Figure(figsize=(WIDTH_IN, 2.4))
        ax = fig.subplots()
        # Plotted as floats: a chart's geometry; the axis prints whole counts.
        ax.plot(range(len(points)), [float(v) for _, v in points], color=color, linewidth=1.8)
        ticks = range(0, len(points), 5)  # one label every five days
        ax.set_xticks(list(ticks), [f"{points[i][0]:%b %d}" for i in ticks])
        ax.set_ylim(bottom=0)
        ax.set_ylabel(unit)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.grid(axis="y", color="#e5e5e5")
        return _svg(fig)


def money_bars(bars: Sequence[tuple[str, Decimal]], color: str) -> str:
    """Amounts as horizontal bars, each labelled with its amount as money (from the Decimal, not the bar)."""
    with _style():
        fig = Figure(figsize=(WIDTH_IN, 0.45 * len(bars) + 0.6))
        ax = fig.subplots()
        names = [n for n, _ in bars][::-1]  # the first bar on top
        amounts = [a for _, a in bars][::-1]
        drawn = ax.barh(names, [float(a) for a in amounts], color=color)
        ax.bar_label(drawn, labels=[money_display(a) for a in amounts], padding=4)
        ax.set_xlim(0, max([float(a) for a in amounts] + [1.0]) * 1.25)  # room for the labels
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"${v:,.0f}"))
        ax.grid(axis="x", color="#e5e5e5")
        ax.set_axisbelow(True)
        return _svg(fig)
