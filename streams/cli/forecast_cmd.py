"""``meterline forecast``: period-end forecasts and their backtest (docs/forecasting.md)."""

from __future__ import annotations

import argparse
import statistics
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from rating.money import money_text
from streams.cli.output import emit_json, emit_table

if TYPE_CHECKING:
    from rating.forecast.backtest import Outcome


def register(sub: Any) -> None:
    f: argparse.ArgumentParser = sub.add_parser(
        "forecast",
        help="period-end invoice forecasts and their backtest",
        description="Forecast where each account's period ends (docs/forecasting.md).",
    )
    fsub = f.add_subparsers(dest="forecast_command", metavar="SUBCOMMAND", required=True)
    r: argparse.ArgumentParser = fsub.add_parser(
        "run",
        help="forecast accounts now into ClickHouse forecasts and send budget alerts",
        description="Forecast the current period of every subscribed and every budgeted account (or only "
        "--account) from the settled hours up to the settled watermark and the live counts after it, write the "
        "forecasts (invoice total, each metric, the AI mix by provider/model) to ClickHouse `forecasts` and send "
        "the budget alerts they cross. Settlement does the same for the accounts whose hours it settles after "
        "each run; this is for a first fill or an account on demand.",
    )
    r.add_argument("--account", action="append", help="only this account (repeatable)")
    r.add_argument("--json", action="store_true", help="print the forecasts' totals as JSON")
    r.set_defaults(func=_run)
    b: argparse.ArgumentParser = fsub.add_parser(
        "backtest",
        help="replay a simulated year (or the settled history) and report forecast error against linear extrapolation",
        description="Simulate a year of daily usage (accounts that are flat, grow, shrink, spike, shift, churn "
        "mid-period and follow weekly rhythms), forecast every account's invoice total at days 7, 15 and 25 of "
        "each period with the rating code's pricing, and report the error of the expected total (MAPE and "
        "median absolute percentage error, overall and by tier), how often the actual total fell inside the "
        "80 % interval, and the same errors for naive linear extrapolation of the period to date. With "
        "--from-warehouse, replay the settled history instead: every finalized invoice in ClickHouse is forecast "
        "as the product forecasts (at midnight: the settled whole days, with the corrections, add-ons and tax "
        "rates known then) at days 7, 15 and 25 of its period and compared with "
        "its finalized total.",
    )
    b.add_argument("--seed", type=int, default=1, help="the simulation's seed (default 1)")
    b.add_argument("--accounts", type=int, default=500, help="simulated accounts (default 500)")
    b.add_argument("--days", type=int, default=395, help="days of history from 2026-01-01 (default 395)")
    b.add_argument(
        "--hour",
        type=int,
        default=0,
        choices=range(24),
        metavar="H",
        help="forecast at this hour of each check day, its hours before it settled (simulated: each day split "
        "by the account's simulated hours; default 0, midnight)",
    )
    b.add_argument(
        "--from-warehouse",
        action="store_true",
        help="replay the finalized invoices and settled usage in ClickHouse instead of a simulated year",
    )
    b.add_argument(
        "--since",
        type=_month,
        metavar="YYYY-MM",
        help="with --from-warehouse: only periods starting in this month or later",
    )
    b.add_argument(
        "--account", action="append", help="with --from-warehouse: only this account's invoices (repeatable)"
    )
    b.add_argument("--json", action="store_true", help="print the report as JSON")
    b.set_defaults(func=_backtest)


def _month(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m").replace(tzinfo=UTC)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a month YYYY-MM: {text!r}") from exc


def _run(args: argparse.Namespace) -> int:
    from streams.cli.settle_cmd import open_settlement
    from streams.settlement.job import build_forecast_refresh

    settings, registry, settler, client = open_settlement()
    now = datetime.now(UTC)
    refresh = build_forecast_refresh(settings, client, settler, registry)
    accounts = args.account or registry.accounts()
    # The settled watermark (nothing settled yet: today's midnight, so no hour counts as settled).
    until = settler.settled_until() or now.replace(hour=0, minute=0, second=0, microsecond=0)
    result = refresh.run(accounts, min(until, now), now, budgeted=not args.account)
    head = ["account", "period", "to date", "expected", "p10", "p90"]
    if args.json:
        emit_json({**result.summary(), "forecasts": [dict(zip(head, t, strict=True)) for t in result.totals]})
    else:
        emit_table(head, result.totals)
    return 1 if result.failed else 0


def _backtest(args: argparse.Namespace) -> int:
    if args.from_warehouse:
        if args.hour:
            raise SystemExit("--hour is for the simulation (the settled history is replayed at midnights)")
        return _backtest_settled(args)
    if args.since or args.account:
        raise SystemExit("--since and --account need --from-warehouse")
    from deploy.demo.forecast_world import simulate_world
    from rating.catalog.loader import load_catalog
    from rating.forecast.backtest import backtest_account

    start = date(2026, 1, 1)
    catalog = load_catalog().at(datetime.combine(start, datetime.min.time(), tzinfo=UTC))
    world = simulate_world(args.seed, args.accounts, start, args.days)
    typical: dict[str, dict[str, float]] = {}
    for tier in {a.tier for a in world}:
        typical[tier] = {
            m: statistics.median(sum(a.daily[m][:28]) / 28 for a in world if a.tier == tier) for m in world[0].daily
        }
    outcomes = [o for a in world for o in backtest_account(a, catalog, args.days, typical, hour=args.hour)]
    report = backtest_report(outcomes)
    if args.json:
        emit_json(
            {"seed": args.seed, "accounts": args.accounts, "days": args.days, "hour": args.hour, "report": report}
        )
    else:
        _print_report(report)
    return 0


def _backtest_settled(args: argparse.Namespace) -> int:
    from rating.forecast.backtest import CHECK_DAYS
    from sinks.clickhouse.settlement import SettlementStore
    from streams.cli.settle_cmd import open_settlement
    from streams.settlement.backtest_history import backtest_settled, settled_periods, store_addons_known
    from streams.settlement.job import store_sessions

    settings, _registry, settler, client = open_settlement()
    since = args.since or datetime(1970, 1, 1, tzinfo=UTC)
    store = SettlementStore(client, settings.clickhouse_database)
    documents = store.final_invoices(since)
    periods = [p for p in settled_periods(documents, settler, accounts=args.account or ()) if p.period.start >= since]
    outcomes = backtest_settled(settler, store, periods, store_addons_known(store_sessions(settings)))
    report = backtest_report(outcomes)
    # Check days before a plan change or a credit grant later in their period are not replayed.
    left_out = len(CHECK_DAYS) * len(periods) - len(outcomes)
    if args.json:
        emit_json(
            {
                "source": "warehouse",
                "since": args.since.strftime("%Y-%m") if args.since else None,
                "accounts": sorted({p.account_id for p in periods}),
                "invoices": len(periods),
                "left_out": left_out,
                "report": report,
                "outcomes": [_outcome(o) for o in outcomes],
            }
        )
    else:
        accounts = len({p.account_id for p in periods})
        print(f"{len(periods)} finalized invoices of {accounts} accounts; {left_out} check days left out")
        _print_report(report)
    return 0


def backtest_report(outcomes: list[Outcome]) -> dict[str, dict[str, dict[str, object]]]:
    """The backtest's summary at each check day, for periods with and without history before them."""
    from rating.forecast.backtest import CHECK_DAYS, summarize

    return {
        f"day_{day}": {
            "with_history": summarize(outcomes, day, has_history=True).as_dict(),
            "no_history": summarize(outcomes, day, has_history=False).as_dict(),
        }
        for day in CHECK_DAYS
    }


def _outcome(o: Outcome) -> dict[str, object]:
    return {
        "account_id": o.account_id,
        "tier": o.tier,
        "day": o.day,
        "has_history": o.has_history,
        "actual": money_text(o.actual),
        "expected": money_text(o.expected),
        "p10": money_text(o.low),
        "p90": money_text(o.high),
        "baseline": money_text(o.baseline),
    }


def _print_report(report: dict[str, dict[str, dict[str, object]]]) -> None:
    rows = []
    for day_key, parts in report.items():
        for part, s in parts.items():
            rows.append(
                [
                    day_key,
                    part,
                    s["count"],
                    _pct(s["median_ape"]),
                    _pct(s["mape"]),
                    _pct(s["coverage_80"]),
                    _pct(s["baseline_median_ape"]),
                    _pct(s["baseline_mape"]),
                    _pct(s["median_improvement"]),
                ]
            )
    emit_table(
        ["at", "accounts", "n", "median APE", "MAPE", "in 80% band", "naive median", "naive MAPE", "better by"],
        rows,
    )


def _pct(x: object) -> str:
    return "-" if not isinstance(x, float | int) else f"{100 * float(x):.1f} %"
