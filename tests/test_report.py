"""`cfx report` and `cfx compare` on tiny real runs: every plot present, the
page self-contained, empty data drawn as "none", bad input exit 2, the
heatmap's rebuilt book agreeing with the top-of-book snapshots, and a report
for each shipped run scenario (shrunk to one day)."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import msgspec
import numpy as np
import pyarrow.parquet as pq
import pytest

from cfx import cli, logs, report, tables
from cfx.report import chart, load, plots
from cfx.sim import scenario as scn
from cfx.sim.run import run_scenario
from report_support import tiny_toml

REPO = Path(__file__).resolve().parents[1]
BASELINE = REPO / "cfx" / "scenarios" / "baseline.toml"
PLOT = '<div class="plot" id="plot-'
NONE = '<p class="none">'


@pytest.fixture(autouse=True)
def _logs_to_real_stderr():
    """`cli.main` points the logger at the (captured) stderr of the test; reset it after."""
    yield
    logs.configure()


def _sections(page: str) -> set[str]:
    return set(re.findall(r'<section id="([a-z]+)">', page))


def _plots(page: str) -> dict[str, dict]:
    """Each plot's Plotly JSON, by section id."""
    return {
        sid: json.loads(spec.replace("<\\/", "</"))
        for sid, spec in re.findall(
            r'<script type="application/json" id="plot-([a-z]+)-data">(.*?)</script>', page, re.S
        )
    }


def _assert_self_contained(page: str) -> None:
    """No file or address outside the page: plotly.js inlined once, no script or link by reference."""
    scripts = re.findall(r"<script([^>]*)>", page)
    assert scripts and not [s for s in scripts if "src=" in s]
    assert scripts.count(' type="text/javascript"') == 1  # plotly.js, once
    outside = re.sub(r"<script[^>]*>.*?</script>", "", page, flags=re.S)
    assert "<link" not in outside and "url(" not in outside and "src=" not in outside
    hrefs = re.findall(r'\bhref="([^"]*)"', outside)
    assert all(h.startswith("#") for h in hrefs), hrefs


def _shown(page: str, sid: str) -> str:
    """'plot' or 'none' for a section: a plot, or the sentence saying why there is none."""
    section = page.split(f'<section id="{sid}">', 1)[1].split("</section>", 1)[0]
    assert "<h2>" in section, sid
    assert (PLOT in section) != (NONE in section), sid
    return "plot" if PLOT in section else "none"


def test_report_has_every_plot_the_metrics_and_no_external_files(runs):
    path = report.write_report(runs["a"])
    assert path == runs["a"] / "report.html"
    page = path.read_text()
    _assert_self_contained(page)
    assert _sections(page) == {"metrics", "marks", "facts", *report.SECTIONS}
    shown = {sid: _shown(page, sid) for sid in report.SECTIONS}
    assert shown == {**{sid: "plot" for sid in report.SECTIONS}, "funding": "none"}  # no perpetuals in baseline
    summary = json.loads((runs["a"] / "summary.json").read_text())
    assert "<h1>tiny_a</h1>" in page and summary["question"].split(",")[0] in page
    table = page.split('id="metrics-table"', 1)[1].split("</table>", 1)[0]
    for key in ("trades", "volume_contracts", "mean_spread_ticks", "margin_calls", "defaults", "tick_usd"):
        assert f"<th>{key}</th>" in table
    assert f"{summary['trades']:,}" in table
    # every plot's data is there as JSON, and the shocks are in the table at the top
    plots = _plots(page)
    assert set(plots) == {sid for sid, s in shown.items() if s == "plot"}
    assert all(spec["data"] for spec in plots.values())
    marks = page.split('id="marks-table"', 1)[1].split("</table>", 1)[0]
    assert "kill switch 10 min" in marks and "2027-01-04 14:40:00" in marks and "2027-01-04 14:50:00" in marks
    assert "market makers withdraw 20 min" in marks and "fat finger: market sell 200" in marks


def test_shocks_are_in_the_summary_and_marked_on_every_time_plot(runs):
    summary = json.loads((runs["a"] / "summary.json").read_text())
    kinds = {s["type"]: s for s in summary["shocks"]}
    assert set(kinds) == {"fat-finger", "kill-switch", "mm-withdrawal"}
    kill = kinds["kill-switch"]
    assert kill["end_ns"] - kill["start_ns"] == 10 * 60 * 10**9
    run = report.load_run(runs["a"])
    # the kill switch halted every series: those halts are its window, not marks of their own
    assert any(kill["start_ns"] <= a <= kill["end_ns"] for _, a, _ in load.halts(run))
    assert not [m for m in chart.marks(run) if m["kind"] == "halt" and kill["start_ns"] <= m["start"] <= kill["end_ns"]]
    make = {sid: f for sid, _, f, _ in report.REPORT_PLOTS}
    for sid in ("prices", "liquidity", "inventory", "basis", "rejects", "heatmap", "pnl", "margin", "daily"):
        fig = make[sid](run)
        rects = [s for s in fig.layout.shapes if s.type == "rect"]
        assert any(abs(s.x0 - kill["start_ns"] / 1e6) < 1 and abs(s.x1 - kill["end_ns"] / 1e6) < 1 for s in rects), sid
        lines = [s for s in fig.layout.shapes if s.type == "line"]
        assert any(abs(s.x0 - kinds["fat-finger"]["start_ns"] / 1e6) < 1 for s in lines), sid


def test_what_the_plots_measure_adds_up_to_the_run_tables(runs):
    run = report.load_run(runs["a"])
    summary = run.summary
    types, m = load.maker_taker(run)
    assert m.sum() == run.trades["qty"].sum() == summary["volume_contracts"]
    dates, vol = load.daily_volume(run)
    assert sum(v.sum() for v in vol.values()) == summary["volume_contracts"]
    # each market maker's inventory from its fills ends where the positions table says
    pos = pq.read_table(runs["a"] / "positions.parquet").to_pandas()
    last = pos[pos.date == pos.date.max()].groupby("account").position_lots.sum()
    inv = load.inventory(run)
    assert inv and all(int(p[-1]) == int(last.get(a, 0)) for a, (_, p) in inv.items())
    odates, oi = load.open_interest(run)
    longs = pos[pos.position_lots > 0].groupby("series").position_lots.sum()
    assert {s: int(v[-1]) for s, v in oi.items()} == {s: int(v) for s, v in longs.items()}
    # on 4 January 2027 the January future is expected to settle at the mean of the month's 21 business
    # days' fixings: 1 January's as fixed, the other 20 at the index now
    front = report.front_month(run)
    assert front == "HOP-F27"
    top = report.series_top(run, front)
    now = load.current_index(run, load.basket_of(run, front), top["ts"])
    fx = pq.read_table(runs["a"] / "fixings.parquet").to_pandas()
    jan1 = fx[(fx["index"] == "HOPPER") & (fx.date == dt.date(2027, 1, 1))].value_usd_micro.item() / 1e6
    assert np.allclose(load.expected_final(run, front, top["ts"]), (jan1 + 20 * now) / 21)
    assert len(load.rejects(run)["ts"]) == sum(summary["rejects"].values())


def test_cli_report_and_compare_print_one_json_line(runs, capsys):
    assert cli.main(["report", str(runs["a"]), "--out", str(runs["tmp"] / "r.html")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["report"] == str(runs["tmp"] / "r.html") and Path(out["report"]).is_file()
    assert cli.main(["compare", str(runs["a"]), str(runs["b"])]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["compare"] == str(runs["b"] / "compare.html")
    page = Path(out["compare"]).read_text()
    _assert_self_contained(page)
    assert _sections(page) == {"metrics", "prices", "spread", "depth", "settlement", "index", "pnl", "margin"}
    assert set(_plots(page)) == {"prices", "spread", "depth", "settlement", "index", "pnl", "margin"}
    pnl = _plots(page)["pnl"]
    assert {tr["name"].split(":")[0] for tr in pnl["data"] if tr.get("name") and ":" in tr["name"]} >= {"A", "B"}
    assert "<th>A</th><th>B</th><th>B − A</th>" in page
    assert "tiny_a" in page and "tiny_b" in page
    # a metric that differs shows its difference
    sa = json.loads((runs["a"] / "summary.json").read_text())
    sb = json.loads((runs["b"] / "summary.json").read_text())
    diff = sb["trades"] - sa["trades"]
    row = page.split("<th>trades</th>", 1)[1].split("</tr>", 1)[0]
    assert f"{sa['trades']:,}" in row and f"{sb['trades']:,}" in row and f"{diff:+,}".replace("+0", "0") in row


def test_empty_run_tables_draw_none_instead_of_crashing(runs, tmp_path):
    empty = tmp_path / "empty"
    shutil.copytree(runs["a"], empty)
    for name in (
        "trades",
        "book_top",
        "settlements",
        "margin_calls",
        "defaults",
        "events",
        "accounts",
        "fixings",
        "positions",
        "indicative",
    ):
        f = empty / f"{name}.parquet"
        pq.write_table(pq.read_table(f).schema.empty_table(), f)
    summary = json.loads((empty / "summary.json").read_text())
    del summary["shocks"]  # and a run from before shocks were in the summary
    (empty / "summary.json").write_text(json.dumps(summary))
    (empty / "funding.parquet").unlink()  # and from before funding.parquet
    page = report.write_report(empty).read_text()
    assert {sid: _shown(page, sid) for sid in report.SECTIONS} == {sid: "none" for sid in report.SECTIONS}
    cmp = report.write_compare(runs["a"], empty, tmp_path / "c.html").read_text()
    assert set(_plots(cmp)) == {"prices", "spread", "depth", "settlement", "index", "pnl", "margin"}  # A's


def test_one_series_no_margin_calls_one_day(runs):
    run = report.load_run(runs["a"])
    assert len(run.margin_calls["ts"]) == 0  # the tiny run has none: the plot says so
    for make in (plots.plot_margin, plots.plot_volume, plots.plot_settlement, plots.plot_pnl):
        assert not isinstance(make(run), str)


def test_heatmap_rebuilds_the_top_of_book(runs):
    run = report.load_run(runs["a"])
    series = report.front_month(run)
    assert series is not None and series in run.series
    grid = report.depth_grid(run, series)
    assert grid is not None
    bt = run.book_top
    k = bt["series"] == series
    ts, bid, bid_qty, ask, ask_qty = (np.asarray(bt[c])[k] for c in ("ts", "bid", "bid_qty", "ask", "ask_qty"))
    pmin, rows = int(grid["pmin"]), grid["bids"].shape[0]
    checked = 0
    for j, t in enumerate(grid["grid"]):
        i = int(np.flatnonzero(ts == t)[0])
        for price, qty, depth, best in (
            (bid[i], bid_qty[i], grid["bids"][:, j], max),
            (ask[i], ask_qty[i], grid["asks"][:, j], min),
        ):
            if np.isnan(price) or not pmin <= price < pmin + rows:
                continue
            levels = np.flatnonzero(depth > 0) + pmin
            assert best(levels) == price and depth[int(price) - pmin] == qty
            checked += 1
    assert checked > len(grid["grid"])  # both sides most of the time


def test_bad_inputs_exit_2(runs, tmp_path, capsys):
    assert cli.main(["report", str(tmp_path / "nope")]) == 2
    assert "no such run directory" in capsys.readouterr().err
    partial = tmp_path / "partial"
    partial.mkdir()
    shutil.copy(runs["a"] / "summary.json", partial)
    assert cli.main(["report", str(partial)]) == 2
    err = capsys.readouterr().err
    assert "missing" in err and "trades.parquet" in err and err.count("\n") == 1
    empty_dir = tmp_path / "bare"
    empty_dir.mkdir()
    assert cli.main(["report", str(empty_dir)]) == 2
    assert "summary.json" in capsys.readouterr().err
    broken = tmp_path / "broken"
    shutil.copytree(runs["a"], broken)
    (broken / "trades.parquet").write_bytes(b"not parquet")
    assert cli.main(["report", str(broken)]) == 2
    assert "trades.parquet" in capsys.readouterr().err
    (broken / "trades.parquet").write_bytes((runs["a"] / "trades.parquet").read_bytes())
    (broken / "summary.json").write_text("{")
    assert cli.main(["report", str(broken)]) == 2
    assert "summary.json" in capsys.readouterr().err
    assert cli.main(["compare", str(runs["a"]), str(tmp_path / "nope")]) == 2
    assert "nope" in capsys.readouterr().err


def test_cfx_run_writes_the_report_unless_no_report(runs, capsys):
    toml = tiny_toml(runs["tmp"], "tiny_cli")
    out = runs["tmp"] / "cli_run"
    assert cli.main(["run", str(toml), "--out", str(out), "--quiet"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["scenario"] == "tiny_cli"
    assert f"report: {out / 'report.html'}" in captured.err
    assert (out / "report.html").is_file()
    (out / "report.html").unlink()
    assert (
        cli.main(["run", str(toml), "--out", str(out), "--quiet", "--no-report", "--overwrite"]) == 0
    )  # one run a directory
    captured = capsys.readouterr()
    assert not (out / "report.html").exists() and "report:" not in captured.err


def _run_scenarios() -> list[Path]:
    return [
        p
        for p in sorted((REPO / "cfx" / "scenarios").glob("*.toml"))
        if re.search(r"(?m)^\[\[agents\]\]", p.read_text())
    ]


def test_there_is_a_run_scenario():
    assert BASELINE in _run_scenarios()


@pytest.mark.parametrize("path", _run_scenarios(), ids=lambda p: p.stem)
def test_report_for_each_shipped_scenario(path, tmp_path):
    sc = scn.load(path)
    sc = msgspec.structs.replace(
        sc, calendar=msgspec.structs.replace(sc.calendar, days=1), shocks=[s for s in sc.shocks if s.day < 1]
    )
    out = tmp_path / path.stem
    run_scenario(sc, out, progress=False)
    page = report.write_report(out).read_text()
    assert _sections(page) == {"metrics", "marks", "facts", *report.SECTIONS}
    assert {_shown(page, sid) for sid in report.SECTIONS} <= {"plot", "none"}
    assert f"<h1>{sc.name}</h1>" in page
    _assert_self_contained(page)


def test_margin_calls_and_defaults_are_drawn(runs, tmp_path):

    import pyarrow as pa

    d = tmp_path / "calls"
    shutil.copytree(runs["a"], d)
    ts = int(pq.read_table(d / "book_top.parquet").column("time").cast(pa.int64())[0].as_py())
    day = dt.date(2027, 1, 4)
    mc = pq.read_schema(d / "margin_calls.parquet")
    rows = {n: [0, 0] for n in mc.names}
    rows.update(
        type=["MarginCallIssued", "MarginCallMet"],
        time=[ts, ts + 10**12],
        date=[day, day],
        deadline=[day, day],
        account=[1, 1],
        amount_usd_micro=[5 * 10**9, 5 * 10**9],
    )
    tables.write(tables.table(rows, mc), d / "margin_calls.parquet")
    df = pq.read_schema(d / "defaults.parquet")
    rows = {n: [0, 0] for n in df.names}
    rows.update(
        type=["AccountDefaulted", "DefaultLossCovered"], time=[ts + 2 * 10**12] * 2, date=[day, day], account=[2, 2]
    )
    tables.write(tables.table(rows, df), d / "defaults.parquet")
    run = report.load_run(d)
    fig = plots.plot_margin(run)
    assert any("1 calls, $5,000 called; 1 defaults" in a.text for a in fig.layout.annotations)
    rows = {y for tr in fig.data if tr.yaxis == "y2" for y in tr.y}
    assert rows == {"market_maker (account 1)", "market_maker (account 2)"}


def test_the_loader_reads_timestamp_columns_as_ns(runs):
    """The typed tables' ``timestamp[ns, UTC]`` columns read as the integer ns of the engine's clock."""
    import pyarrow as pa

    col = pq.read_table(runs["a"] / "trades.parquet").column("time")
    assert pa.types.is_timestamp(col.type)
    assert np.array_equal(report.load_run(runs["a"]).trades["ts"], col.cast(pa.int64()).to_numpy())
