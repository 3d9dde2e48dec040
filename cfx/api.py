"""The Python API: load a scenario, change it, run it, read what it wrote.

    import cfx
    sc = cfx.load("baseline", **{"calendar.days": 2, "agents[0].half-spread-ticks": 0.5})
    run = cfx.run(sc)                    # in a temporary directory
    trades = run.trades()                # pandas, with time, price_usd, maker_type, taker_type
    run = cfx.open_run("runs/baseline")  # a run on disk

Overrides use the dotted kebab-case paths of the TOML and of sweeps and are
validated by the same schema, so a bad one is an `InputError` naming the
path. Tables come back as pandas DataFrames of the Parquet files
(docs/outputs.md): times as ``datetime64[ns, UTC]`` (column ``time``),
strings as categoricals, the exact integers with their units in their names
(``price_ticks``, ``qty_lots``, ``collateral_usd_micro``), and beside each
price or amount its dollars, added here (``price_usd`` after
``price_ticks``, ``collateral_usd`` after ``collateral_usd_micro``), and
the agent type joined to every account column.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any


from cfx import logs
from cfx.errors import InputError
from cfx.sim import scenario as scn
from cfx.sim.scenario_files import load, resolve, scenarios_folder, shipped_scenarios

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Run", "load", "open_run", "resolve", "run", "scenarios_folder", "shipped_scenarios"]

MICRO = 1_000_000


def run(
    scenario: scn.Scenario | str | Path,
    out: str | Path | None = None,
    *,
    progress: bool = True,
    report: bool = False,
    seed: int | None = None,
) -> Run:
    """Simulate ``scenario`` (a `Scenario`, a file or a shipped name) into
    ``out`` (a new temporary directory when None); the `Run` it wrote."""
    from cfx.sim.run import run_scenario

    sc = scenario if isinstance(scenario, scn.Scenario) else load(scenario)
    if seed is not None:
        sc = scn.with_seed(sc, seed, "seed")
    folder = Path(tempfile.mkdtemp(prefix=f"cfx-{sc.name}-")) if out is None else Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    logs.configure(folder / "run.log")
    try:
        run_scenario(sc, folder, progress=progress)
    finally:
        logs.configure()
    r = Run(folder)
    if report:
        r.report()
    return r


def open_run(path: str | Path) -> Run:
    """The `Run` in directory ``path`` (one that `cfx run` or `run` wrote)."""
    return Run(path)


class Run:
    """A run directory, read as DataFrames.

    ``summary`` is summary.json as a dict. Tables: `trades`, `book`,
    `settlements`, `fixings`, `indicative`, `accounts`, `positions`, `margin_calls`,
    `defaults`, `agents`, `events`; `otc_trades` when the run has any.
    `facts` computes the stylized facts, `report` writes report.html.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        summary = self.path / "summary.json"
        if not summary.is_file():
            raise InputError(f"{self.path}: not a run directory (no summary.json)")
        try:
            self.summary: dict[str, Any] = json.loads(summary.read_text())
        except (OSError, ValueError) as e:
            raise InputError(f"{summary}: unreadable summary: {e}") from None
        self.tick_usd: float = self.summary.get("tick_usd", 0.01)

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r}, scenario={self.summary.get('scenario')!r}, seed={self.summary.get('seed')})"

    # ------------------------------------------------------------------ tables

    def table(self, name: str) -> pd.DataFrame:
        """Any Parquet table of the run by name, as written (no conversions)."""
        import pyarrow.parquet as pq

        path = self.path / f"{name}.parquet"
        if not path.is_file():
            raise InputError(f"{path}: this run has no {name} table")
        return pq.read_table(path).to_pandas()

    def agents(self) -> pd.DataFrame:
        """Account -> agent type, agent number and starting collateral."""
        return self.table("agents")

    def trades(self) -> pd.DataFrame:
        """Every trade: time, series, price (ticks and $/GPU-h), lots, both
        sides' accounts and agent types, the aggressor side."""
        return self._join_agents(self._typed(self.table("trades")), ("maker_account", "taker_account"))

    def book(self) -> pd.DataFrame:
        """Top-of-book snapshots (bid/ask in ticks and dollars, sizes in lots, last trade)."""
        return self._typed(self.table("book_top"))

    def settlements(self) -> pd.DataFrame:
        """Daily settlement prices with the tier that set each."""
        return self._typed(self.table("settlements"))

    def fixings(self) -> pd.DataFrame:
        """Official index fixings (micro-$ per GPU-hour and $), with their contributors and flag."""
        return self._typed(self.table("fixings"))

    def indicative(self) -> pd.DataFrame:
        """Intraday indicative index values (one row per publication per index)."""
        return self._typed(self.table("indicative"))

    def accounts(self) -> pd.DataFrame:
        """Daily account statements, money in micro-$ and in $, agent type joined."""
        return self._join_agents(self._typed(self.table("accounts")), ("account",))

    def positions(self) -> pd.DataFrame:
        """Daily position statements per account and series, agent type joined."""
        return self._join_agents(self._typed(self.table("positions")), ("account",))

    def margin_calls(self) -> pd.DataFrame:
        return self._join_agents(self._typed(self.table("margin_calls")), ("account",))

    def defaults(self) -> pd.DataFrame:
        return self._join_agents(self._typed(self.table("defaults")), ("account",))

    def events(self, types: Iterable[str] | str | None = None) -> pd.DataFrame:
        """The event log (optionally only events of the given type names,
        e.g. ``types=["Trade", "OrderRejected"]``); ``details`` holds the
        rest of each event decoded as a dict (None when the typed columns
        hold all of it)."""
        import pyarrow.parquet as pq

        path = self.path / "events.parquet"
        if not path.is_file():
            raise InputError(
                f"{path}: this run kept no event log (it was written with [output] events = "
                f'"trades-only" or "none"; run it with events = "full" for one)'
            )
        filters = None
        if types is not None:
            wanted = [types] if isinstance(types, str) else list(types)
            filters = [("type", "in", wanted)]
        df = pq.read_table(path, filters=filters).to_pandas()
        df["details"] = [json.loads(e) if isinstance(e, str) else None for e in df["details"]]
        return self._typed(df)

    def otc_trades(self) -> pd.DataFrame:
        """The OTC forwards traded (when the run has an OTC layer)."""
        return self._typed(self.table("otc_trades"))

    # ------------------------------------------------------------------ analytics

    def facts(self) -> dict[str, Any]:
        """The stylized facts of the run's front month (`cfx facts`)."""
        from cfx import facts

        return facts.measure(self.path)

    def report(self, out: str | Path | None = None) -> Path:
        """Write the HTML report (default RUN/report.html); its path."""
        from cfx import report

        target = Path(out) if out is not None else self.path / "report.html"
        report.write_report(self.path, target)
        return target

    # ------------------------------------------------------------------ conversions

    def _typed(self, df: pd.DataFrame) -> pd.DataFrame:
        """Dollars beside the integers: ``X_usd`` after each ``X_ticks``
        (times the run's tick in $) and each ``X_usd_micro`` (over 10^6),
        unless the table has it already."""
        for col in list(df.columns):
            if col.endswith("_ticks"):
                name, usd = col[: -len("_ticks")] + "_usd", df[col].astype("float64") * self.tick_usd
            elif col.endswith("_usd_micro"):
                name, usd = col[: -len("_micro")], df[col].astype("float64") / MICRO
            else:
                continue
            if name not in df:
                df.insert(df.columns.get_loc(col) + 1, name, usd)
        return df

    def _join_agents(self, df: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
        types = dict(zip(*(self.agents()[c] for c in ("account", "agent_type"))))
        for col in columns:
            if col in df:
                name = "agent_type" if col == "account" else col.replace("_account", "_type")
                df.insert(df.columns.get_loc(col) + 1, name, df[col].map(types).fillna("scenario"))
        return df
