"""The Python API: load a scenario, change it, run it, read what it wrote.

    import cfx
    sc = cfx.load("baseline", **{"calendar.days": 2, "agents[0].half-spread-ticks": 0.5})
    run = cfx.run(sc)                    # in a temporary directory
    trades = run.trades()                # pandas, with time, price_usd, maker_type, taker_type
    run = cfx.open_run("runs/baseline")  # a run on disk

Overrides use the dotted kebab-case paths of the TOML and of sweeps and are
validated by the same schema, so a bad one is an `InputError` naming the
path. Tables come back as pandas DataFrames: nanosecond timestamps as
``datetime64[ns, UTC]`` (column ``time``), prices in dollars next to the
integer ticks (``price_usd`` beside ``price``), micro-dollar money beside
its dollars (``collateral_usd`` beside ``collateral``), and the agent type
joined to every account column. The Parquet files themselves keep the
engine's integers (see docs/outputs.md).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any


from cfx import logs
from cfx.errors import InputError
from cfx.sim import overrides as ov
from cfx.sim import scenario as scn

if TYPE_CHECKING:
    import pandas as pd

MICRO = 1_000_000
_TIME_COLUMNS = ("ts", "deadline")
_MONEY_COLUMNS = (
    "collateral", "initial_margin", "maintenance_margin", "variation_margin", "fees", "fees_total",
    "realized_pnl", "unrealized_pnl", "call_amount", "amount", "equity", "maintenance", "initial", "loss",
    "from_collateral", "from_own_contribution", "from_fund", "uncovered",
)


def shipped_scenarios() -> dict[str, Path]:
    """The scenarios that come with cfx, by name (file stem), sweeps excluded."""
    folder = scenarios_folder()
    if folder is None:
        return {}
    return {p.stem: p for p in sorted(folder.glob("*.toml")) if not p.stem.startswith(("sweep_", "index_"))}


def scenarios_folder() -> Path | None:
    """Where the shipped scenarios are: inside the installed package, or the
    ``scenarios/`` folder of a source checkout."""
    here = Path(__file__).resolve().parent
    for folder in (here / "scenarios", here.parent / "scenarios"):
        if folder.is_dir():
            return folder
    return None


def resolve(path_or_name: str | Path) -> Path:
    """A scenario file path: ``path_or_name`` itself if it is a file, else the
    shipped scenario of that name (``baseline`` or ``baseline.toml``)."""
    p = Path(path_or_name)
    if p.is_file():
        return p
    name = p.name[:-5] if p.name.endswith(".toml") else p.name
    shipped = shipped_scenarios()
    if p.parent == Path(".") and name in shipped:
        return shipped[name]
    known = ", ".join(shipped) or "none found"
    raise InputError(f"{path_or_name}: no such scenario file, nor a shipped scenario (shipped: {known})")


def load(path_or_name: str | Path, overrides: Mapping[str, Any] | None = None, **more: Any) -> scn.Scenario:
    """A validated `Scenario` from a file or a shipped name, with overrides by
    dotted path (``{"rules.band-pct": 10}`` or as keyword arguments)."""
    path = resolve(path_or_name)
    sc = scn.load(path)
    changes = {**(overrides or {}), **more}
    if changes:
        sc = ov.apply(sc, changes, where=str(path))
    return sc


def run(scenario: scn.Scenario | str | Path, out: str | Path | None = None, *, progress: bool = True,
        report: bool = False, seed: int | None = None) -> Run:
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
        df = self._typed(self.table("trades"), prices=("price",))
        return self._join_agents(df, ("maker_account", "taker_account"))

    def book(self) -> pd.DataFrame:
        """Top-of-book snapshots (bid/ask in ticks and dollars, sizes in lots, last trade)."""
        return self._typed(self.table("book_top"), prices=("bid", "ask", "last"))

    def settlements(self) -> pd.DataFrame:
        """Daily settlement prices with the tier that set each."""
        return self._typed(self.table("settlements"), prices=("price",))

    def fixings(self) -> pd.DataFrame:
        """Official index fixings (micro-$ per GPU-hour and $)."""
        df = self.table("fixings")
        df["value_usd"] = df["value"] / MICRO
        return df

    def indicative(self) -> pd.DataFrame:
        """Intraday indicative index values (one row per publication per index)."""
        df = self.table("indicative")
        df["value_usd"] = df["value"] / MICRO
        return df

    def accounts(self) -> pd.DataFrame:
        """Daily account statements, money in micro-$ and in $, agent type joined."""
        return self._join_agents(self._typed(self.table("accounts")), ("account",))

    def positions(self) -> pd.DataFrame:
        """Daily position statements per account and series, agent type joined."""
        df = self._typed(self.table("positions"), prices=("settlement_price",))
        return self._join_agents(df, ("account",))

    def margin_calls(self) -> pd.DataFrame:
        return self._join_agents(self._typed(self.table("margin_calls")), ("account",))

    def defaults(self) -> pd.DataFrame:
        return self._join_agents(self._typed(self.table("defaults")), ("account",))

    def events(self, types: Iterable[str] | str | None = None) -> pd.DataFrame:
        """The event log (optionally only events of the given type names,
        e.g. ``types=["Trade", "OrderRejected"]``); ``event`` holds each
        event decoded as a dict."""
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        path = self.path / "events.parquet"
        if not path.is_file():
            raise InputError(f"{path}: this run wrote no event log")
        table = pq.read_table(path)
        if types is not None:
            wanted = [types] if isinstance(types, str) else list(types)
            table = table.filter(pc.is_in(table["type"], value_set=__import__("pyarrow").array(wanted)))
        df = table.to_pandas()
        if "event" in df:
            df["event"] = [json.loads(e) if isinstance(e, str) else e for e in df["event"]]
        return self._typed(df, prices=("price",))

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

    def _typed(self, df: pd.DataFrame, prices: tuple[str, ...] = ()) -> pd.DataFrame:
        import pandas as pd

        for col in _TIME_COLUMNS:
            if col in df:
                df.insert(df.columns.get_loc(col), "time" if col == "ts" else f"{col}_time",
                          pd.to_datetime(df[col], unit="ns", utc=True))
        for col in prices:
            if col in df:
                df.insert(df.columns.get_loc(col) + 1, f"{col}_usd", df[col] * self.tick_usd)
        for col in _MONEY_COLUMNS:
            if col in df:
                df.insert(df.columns.get_loc(col) + 1, f"{col}_usd", df[col] / MICRO)
        return df

    def _join_agents(self, df: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
        types = dict(zip(*(self.agents()[c] for c in ("account", "agent_type"))))
        for col in columns:
            if col in df:
                name = "agent_type" if col == "account" else col.replace("_account", "_type")
                df.insert(df.columns.get_loc(col) + 1, name, df[col].map(types).fillna("scenario"))
        return df
