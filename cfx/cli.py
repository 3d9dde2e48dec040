"""The `cfx` command: one subcommand per job, each a thin shell over a module.

Each subcommand's function returns its result (a dict, a msgspec Struct,
``None`` or a `cfx.command.Output` with an exit code) and `main` prints it
with the one JSON encoder, `cfx.command.emit`. Every user mistake (bad
flag, missing file, malformed row) ends with one line on stderr naming what
is wrong, and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cfx.command import Output, emit
from cfx.errors import InputError, one_line


class Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line (``cfx run: error: ...``) and exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")


def count(text: str) -> int:
    """An argparse type: an integer >= 0."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {n}")
    return n


def seed(text: str) -> int:
    """An argparse type: a random seed, 0 <= seed < 2**63."""
    n = count(text)
    if n >= 2**63:
        raise argparse.ArgumentTypeError(f"expected a seed below 2**63, got {n}")
    return n


class Version(argparse.Action):
    """``--version``: the installed version, looked up only when asked (the
    package metadata costs every other command time and memory)."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        from cfx import __version__

        print(f"cfx {__version__}")
        parser.exit()


def lazy(module: str) -> Callable[[argparse.Namespace], Any]:
    """A subcommand that is ``module``'s ``main``, imported when it runs (so
    ``cfx --help`` imports none of them)."""

    def command(args: argparse.Namespace) -> Any:
        return importlib.import_module(module).main(args)

    return command


def _cmd_scenarios(args: argparse.Namespace) -> Any:
    from cfx import api
    from cfx.sim import scenario as scn

    rows = []
    for name, path in api.shipped_scenarios().items():
        sc = scn.load(path)
        rows.append({"name": name, "question": sc.question, "days": sc.calendar.days, "file": str(path)})
    return Output(value=rows, lines=True)


def _importable_here() -> None:
    """Put the current folder on the import path, last: a ``--plugin`` module
    next to the user is found (and so are its agents when a run of them is
    resumed), as ``python -m`` would find it, and nothing installed is shadowed."""
    here = str(Path.cwd())
    if here not in sys.path:
        sys.path.append(here)


def _cmd_run(args: argparse.Namespace) -> Any:
    """`cfx run SCENARIO --out DIR [--set PATH=VALUE ...]` (a file or a shipped name), or
    `cfx run --resume RUN_DIR`."""
    from cfx.sim import overrides, scenario_files
    from cfx.sim import scenario as scn
    from cfx.sim.run import resume_run, run_scenario

    progress = not args.quiet
    sc = None
    _importable_here()
    if getattr(args, "resume", None):
        if args.scenario or args.out or args.seed is not None or args.overwrite or args.set or args.plugin:
            raise InputError(
                "--resume RUN_DIR takes no scenario, --out, --seed, --set, --plugin or --overwrite: "
                "the run directory has them"
            )
        out = Path(args.resume)
        summary = resume_run(out, progress=progress, log=True)
    else:
        if not args.scenario:
            raise InputError("a scenario file is needed (or --resume RUN_DIR)")
        for module in getattr(args, "plugin", None) or []:
            scn.import_plugin(module)
        path = scenario_files.resolve(args.scenario)
        changes = dict(overrides.parse_assignment(a) for a in getattr(args, "set", None) or [])
        sc = scenario_files.load(path, changes)
        if args.seed is not None:
            sc = scn.with_seed(sc, args.seed)
        out = Path(args.out) if args.out else Path("runs") / path.stem
        summary = run_scenario(sc, out, progress=progress, overwrite=args.overwrite, log=True)
    if not getattr(args, "no_report", False):
        from cfx.report import write_report

        if not (out / "trades.parquet").is_file():
            print('report: none (the run kept no trades: [output] events = "none")', file=sys.stderr)
        elif sc.output.writes_report() if sc is not None else (out / "events.parquet").is_file():
            print(f"report: {write_report(out)}", file=sys.stderr)
        else:
            print(
                f"report: none (a compact run; [output] report = true or `cfx report {out}` writes one)",
                file=sys.stderr,
            )
    return summary


def _cmd_schema(args: argparse.Namespace) -> Any:
    import msgspec

    from cfx.sim import scenario as scn

    return Output(value=msgspec.json.schema(scn.scenario_type()), indent=True)


def build_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="cfx",
        description="A futures exchange for GPU compute, simulated.",
        epilog="examples:\n  cfx run baseline --set calendar.days=2\n  cfx scenarios\n"
        "  cfx replay orders.csv\n  cfx report runs/baseline",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action=Version, help="show the version and exit")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    r = sub.add_parser(
        "replay", help="replay an order-message CSV (or a run journal) through the engine; print throughput as JSON"
    )
    r.add_argument(
        "input",
        help="order-message CSV (ts_ns,kind,order_id,account,side,price,qty), a LOBSTER message file, or a journal",
    )
    r.add_argument(
        "--format",
        choices=["csv", "lobster", "journal"],
        default=None,
        help="input format (default: by file content; required for a pipe or - for stdin)",
    )
    r.add_argument("--orderbook", help="LOBSTER orderbook file matching the message file (with --format lobster)")
    r.add_argument("--fills", help="write the trades as CSV here")
    r.add_argument("--book", help="write the final resting orders as JSON here")
    r.add_argument("--events", help="write the event log (JSON lines) here")
    r.add_argument("--series", default="REPLAY", help="series symbol the messages trade (default: REPLAY)")
    r.add_argument(
        "--engine",
        choices=["auto", "python", "compiled"],
        default=None,
        help="matching engine (default: $CFX_ENGINE, else auto: compiled when built, for an order CSV)",
    )
    r.set_defaults(func=lazy("cfx.replay"), logs=False)  # the benchmark: nothing logs, so no structlog or rich

    w = sub.add_parser("workload", help="write a seeded order-message CSV for benchmarks")
    w.add_argument("n", type=count, help=f"number of messages (at most {100_000_000:,})")
    w.add_argument("out", help="output CSV path")
    w.add_argument("--seed", type=seed, default=7)
    w.set_defaults(func=lazy("cfx.workload"), logs=False)

    rn = sub.add_parser(
        "run",
        help="simulate a scenario into a run directory (events, trades, book, settlements, accounts, summary)",
        epilog="examples:\n  cfx run baseline\n  cfx run cfx/scenarios/price_crash.toml --out runs/crash --seed 7\n"
        "  cfx run baseline --set calendar.days=2 --set 'agents[0].half-spread-ticks=0.5'\n"
        "  cfx run --resume runs/baseline",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rn.add_argument(
        "scenario",
        nargs="?",
        help="scenario TOML file, or the name of a shipped scenario (see `cfx scenarios`); not with --resume",
    )
    rn.add_argument(
        "--plugin",
        action="append",
        metavar="MODULE",
        help="import this Python module first (from the current folder or the Python path), "
        "so the agents it registers can be named (repeatable)",
    )
    rn.add_argument(
        "--set",
        action="append",
        metavar="PATH=VALUE",
        help="override one scenario key by its dotted TOML path (repeatable), e.g. rules.band-pct=10",
    )
    rn.add_argument("--out", help="run directory (default: runs/<scenario name>)")
    rn.add_argument("--seed", type=seed, help="override the scenario's seed")
    rn.add_argument(
        "--overwrite",
        action="store_true",
        help="clear the run directory first if it holds another run (refused otherwise)",
    )
    rn.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="continue a killed run from its last day checkpoint; ends as the uninterrupted run would",
    )
    rn.add_argument("--quiet", action="store_true", help="no progress bar")
    rn.add_argument("--no-report", action="store_true", help="do not write RUN_DIR/report.html at the end")
    rn.set_defaults(func=_cmd_run)

    # New subcommands go here, each as `sub.add_parser(...)` + `set_defaults(func=lazy("cfx.module"))`,
    # the module's `main(args)` returning its result (see cfx/command.py).

    sc = sub.add_parser("scenarios", help="list the shipped scenarios and the question each answers (JSON lines)")
    sc.set_defaults(func=_cmd_scenarios)

    sh = sub.add_parser("schema", help="print the scenario file's JSON Schema (for editor completion and validation)")
    sh.set_defaults(func=_cmd_schema)

    sw = sub.add_parser(
        "sweep",
        help="run a scenario over a grid or random sample of parameters and seeds on Dask; "
        "results.parquet and report.html",
    )
    sw.add_argument(
        "sweep",
        help="sweep TOML file (base scenario, [grid] or [random], seeds, metrics; see cfx/scenarios/sweep_*.toml)",
    )
    sw.add_argument(
        "--out",
        help="sweep folder (default: sweeps/<sweep file name>); re-running resumes it; "
        "a folder holding anything else (a run, other files) is refused",
    )
    sw.add_argument(
        "--scheduler", help="address of a running Dask scheduler (tcp://host:port); default: a LocalCluster"
    )
    sw.add_argument(
        "--workers",
        type=count,
        default=None,
        help="worker processes of the LocalCluster (default 2, at most 4 per CPU); not with --scheduler",
    )
    sw.add_argument("--fresh", action="store_true", help="discard earlier results in --out and run every point")
    sw.add_argument("--quiet", action="store_true", help="no progress bar")
    sw.set_defaults(func=lazy("cfx.sweep"))

    def _cmd_report(args: argparse.Namespace) -> Any:
        from cfx import report

        path = report.write_report(args.run_dir, args.out)
        return {"report": str(path), "sections": ["metrics", "marks", "facts", *report.SECTIONS]}

    rp = sub.add_parser("report", help="write RUN_DIR/report.html: metrics and plots of a run, one self-contained page")
    rp.add_argument("run_dir", help="run directory written by `cfx run`")
    rp.add_argument("--out", help="HTML file to write (default: RUN_DIR/report.html)")
    rp.set_defaults(func=_cmd_report)

    fc = sub.add_parser(
        "facts",
        help="stylized facts of a run's front month (returns, order flow, volume, lead "
        "over the index), each with its target and PASS/FAIL; JSON and RUN_DIR/facts.json",
    )
    fc.add_argument("run_dir", help="run directory written by `cfx run`")
    fc.set_defaults(func=lazy("cfx.facts"))

    def _cmd_compare(args: argparse.Namespace) -> Any:
        from cfx import report

        return {"compare": str(report.write_compare(args.run_a, args.run_b, args.out))}

    cp = sub.add_parser(
        "compare", help="put two runs side by side: metrics (A, B, B-A) and overlaid plots, one HTML page"
    )
    cp.add_argument("run_a", help="run directory A (e.g. the baseline)")
    cp.add_argument("run_b", help="run directory B (e.g. the run with one rule changed)")
    cp.add_argument("--out", help="HTML file to write (default: RUN_B/compare.html)")
    cp.set_defaults(func=_cmd_compare)

    h = sub.add_parser(
        "hedge",
        help="backtest hedging a book of OTC GPU-hour forwards with basket futures; compare policies",
        epilog="examples:\n  cfx hedge examples/dealer_book.csv --policy all --out out/hedge\n"
        "  cfx hedge examples/otc_dealer_book.csv --run runs/otc_market --out out/hedge\n"
        "  cfx hedge examples/dealer_book.csv --out out/hedge --json | jq '.policies.naive.effectiveness'\n"
        "\nWith --json, stdout is one JSON object, summary.json's document:\n"
        '  {"inputs": {...}, "settings": {...}, "period": {"first": "2027-01-04", ...},\n'
        '   "book": {"forwards": 8, ...}, "source": "...", "policies": {"unhedged": {...}, "naive": {...}}}',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    h.add_argument(
        "book", help="forwards CSV (id,sku,provider,region,delivery_start,delivery_end,gpu_hours,price,side)"
    )
    h.add_argument(
        "--policy",
        action="append",
        choices=["unhedged", "naive", "minvar", "all"],
        help="policy to run; repeat for several (default all; unhedged always runs as the baseline)",
    )
    h.add_argument("--out", required=True, help="output folder: daily.parquet/csv, summary.json, PNG plots")
    h.add_argument("--seed", type=seed, default=6, help="generator and futures-noise seed (default 6)")
    h.add_argument("--prices", help="quote CSV of SKU/provider/region prices (default: the seeded generator)")
    h.add_argument("--fixings", help="index fixings CSV (default: computed from the prices)")
    h.add_argument("--futures", help="futures settlement CSV date,series,price (default: derived from the index)")
    h.add_argument(
        "--run",
        metavar="RUN_DIR",
        help="cfx run directory: its daily settlement prices (all tiers, incl. final) are the futures "
        "curve and, without --fixings, its fixings.parquet the basket index; the backtest starts on "
        "its first day unless --start; days outside the run carry the nearest price, as --futures does",
    )
    h.add_argument(
        "--hedge-with",
        choices=["months", "perpetual"],
        help="with --run: hedge with the monthly futures or the run's perpetual (mark-to-mark plus its "
        "funding, no roll); default the months where the run lists them, else the perpetual",
    )
    h.add_argument("--start", help="first day of the backtest, YYYY-MM-DD (generator default 2027-01-04)")
    h.add_argument("--window", type=count, help="min-var regression window, business days (default 20)")
    h.add_argument(
        "--roll-days", type=count, help="roll this many business days before expiry; 0 holds to expiry (default 5)"
    )
    h.add_argument("--rebalance-days", type=count, help="rebalance every N business days (default 1)")
    h.add_argument("--fee", type=float, help="exchange fee, $ per contract (default 1.00)")
    h.add_argument("--rate", type=float, help="annual rate financing initial margin (default 0.05)")
    h.add_argument("--half-spread", type=float, help="half bid-ask spread paid, ticks (default 0.5)")
    h.add_argument("--impact", type=float, help="impact, ticks per contract of the order (default 0.005)")
    h.add_argument("--risk-premium", type=float, help="derived curve: annual log slope vs the index (default -0.045)")
    h.add_argument("--futures-noise", type=float, help="derived curve: sd of the futures' log noise (default 0.005)")
    h.add_argument(
        "--noise-persistence", type=float, help="derived curve: daily AR(1) persistence of the noise (default 0.9)"
    )
    h.add_argument(
        "--json",
        action="store_true",
        help="print the summary (summary.json's document) as one JSON object on stdout instead of the table",
    )
    h.set_defaults(func=lazy("cfx.hedge"))

    ix = sub.add_parser(
        "index",
        help="compute daily SKU and basket index fixings from quotes or the seeded generator; write them as CSV",
    )
    ix.add_argument("--config", help="index TOML (IndexConfig; default: the seeded generator with default baskets)")
    ix.add_argument(
        "--quotes", help="quote CSV (date,sku,provider,region,term,price,weight); overrides the config's source"
    )
    ix.add_argument(
        "--out",
        required=True,
        help="fixings CSV to write (date,index,value_usd_micro,value_usd,contributors,flag: as fixings.parquet)",
    )
    ix.set_defaults(func=lazy("cfx.index"))
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "logs", True):  # a subcommand that never logs sets logs=False
        from cfx import logs

        logs.configure()
    try:
        return emit(args.func(args))
    except InputError as e:
        print(f"cfx {args.command}: error: {one_line(str(e))}", file=sys.stderr)
        return 2
    except OSError as e:  # the machine said no (disk full, permissions) where no check could foresee it
        where = f"{e.filename}: " if e.filename else ""
        print(f"cfx {args.command}: error: {where}{e.strerror or e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
