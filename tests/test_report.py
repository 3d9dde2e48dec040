"""`cfx report` and `cfx compare` on tiny real runs: every plot present, the
page self-contained, empty data drawn as "none", bad input exit 2, the
heatmap's rebuilt book agreeing with the top-of-book snapshots, and a report
for each shipped run scenario (shrunk to one day)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import msgspec
import numpy as np
import pyarrow.parquet as pq
import pytest

from cfx import cli, logs, report, tables
from cfx.sim import scenario as scn
from cfx.sim.run import run_scenario

REPO = Path(__file__).resolve().parents[1]
BASELINE = REPO / "cfx" / "scenarios" / "baseline.toml"
PNG = 'src="data:image/png;base64,'


def _tiny_toml(tmp: Path, name: str, **subs: str) -> Path:
    """baseline.toml shrunk: one day of a two-hour session, a dozen agents."""
    text = BASELINE.read_text()
    text = re.sub(r"(?m)^days = \d+", "days = 1", text)
    text = re.sub(r'(?m)^open = "[^"]*"', 'open = "14:00"', text)
    counts = iter(["2", "6", "1", "1", "1", "1", "1"])
    text = re.sub(r"(?m)^count = \d+", lambda m: f"count = {next(counts, '1')}", text)
    text = re.sub(r'(?m)^name = "baseline"', f'name = "{name}"', text)
    for old, new in subs.items():
        text = text.replace(old, new)
    path = tmp / f"{name}.toml"
    path.write_text(text)
    return path


@pytest.fixture(autouse=True)
def _logs_to_real_stderr():
    """`cli.main` points the logger at the (captured) stderr of the test; reset it after."""
    yield
    logs.configure()


@pytest.fixture(scope="session")
def runs(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("report_runs")
    a = tmp / "tiny_a"
    run_scenario(scn.load(_tiny_toml(tmp, "tiny_a")), a, progress=False)
    b = tmp / "tiny_b"
    # one market rule changed: tighter price bands and a larger taker fee
    sc_b = scn.load(_tiny_toml(tmp, "tiny_b", **{"band-pct = 15.0": "band-pct = 5.0",
                                               "taker-fee = 1_000_000": "taker-fee = 2_000_000"}))
    run_scenario(sc_b, b, progress=False)
    return {"a": a, "b": b, "tmp": tmp}


def _sections(page: str) -> set[str]:
    return set(re.findall(r'<section id="([a-z]+)">', page))


def _assert_self_contained(page: str) -> None:
    srcs = re.findall(r'\bsrc="([^"]*)"', page)
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)
    hrefs = re.findall(r'\bhref="([^"]*)"', page)
    assert all(h.startswith("#") for h in hrefs), hrefs
    assert "<link" not in page and "<script" not in page and "url(" not in page


def test_report_has_every_plot_the_metrics_and_no_external_files(runs):
    path = report.write_report(runs["a"])
    assert path == runs["a"] / "report.html"
    page = path.read_text()
    _assert_self_contained(page)
    assert _sections(page) == {"metrics", "facts", *report.SECTIONS}
    for sid in report.SECTIONS:
        section = page.split(f'<section id="{sid}">', 1)[1].split("</section>", 1)[0]
        assert "<h2>" in section and PNG in section, sid
    assert page.count(PNG) == len(report.SECTIONS)
    summary = json.loads((runs["a"] / "summary.json").read_text())
    assert "<h1>tiny_a</h1>" in page and summary["question"].split(",")[0] in page
    table = page.split('id="metrics-table"', 1)[1].split("</table>", 1)[0]
    for key in ("trades", "volume_contracts", "mean_spread_ticks", "margin_calls", "defaults", "tick_usd"):
        assert f"<th>{key}</th>" in table
    assert f"{summary['trades']:,}" in table
    # the PNGs decode and are real images
    import base64

    first = page.split(PNG, 1)[1].split('"', 1)[0]
    assert base64.b64decode(first)[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_report_and_compare_print_one_json_line(runs, capsys):
    assert cli.main(["report", str(runs["a"]), "--out", str(runs["tmp"] / "r.html")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["report"] == str(runs["tmp"] / "r.html") and Path(out["report"]).is_file()
    assert cli.main(["compare", str(runs["a"]), str(runs["b"])]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["compare"] == str(runs["b"] / "compare.html")
    page = Path(out["compare"]).read_text()
    _assert_self_contained(page)
    assert _sections(page) == {"metrics", "prices", "spread", "depth", "settlement"}
    assert page.count(PNG) == 4
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
    for name in ("trades", "book_top", "settlements", "margin_calls", "defaults", "events", "accounts", "fixings"):
        f = empty / f"{name}.parquet"
        pq.write_table(pq.read_table(f).schema.empty_table(), f)
    page = report.write_report(empty).read_text()
    assert page.count(PNG) == len(report.SECTIONS)
    cmp = report.write_compare(runs["a"], empty, tmp_path / "c.html").read_text()
    assert cmp.count(PNG) == 4


def test_one_series_no_margin_calls_one_day(runs):
    run = report.load_run(runs["a"])
    assert len(run.margin_calls["ts"]) == 0  # the tiny run has none: the plot says so
    for make in (report.plot_margin, report.plot_volume, report.plot_settlement, report.plot_pnl):
        assert report.png(make(run))


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
        for price, qty, depth, best in ((bid[i], bid_qty[i], grid["bids"][:, j], max),
                                        (ask[i], ask_qty[i], grid["asks"][:, j], min)):
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
    toml = _tiny_toml(runs["tmp"], "tiny_cli")
    out = runs["tmp"] / "cli_run"
    assert cli.main(["run", str(toml), "--out", str(out), "--quiet"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["scenario"] == "tiny_cli"
    assert f"report: {out / 'report.html'}" in captured.err
    assert (out / "report.html").is_file()
    (out / "report.html").unlink()
    assert cli.main(["run", str(toml), "--out", str(out), "--quiet", "--no-report", "--overwrite"]) == 0  # one run a directory
    captured = capsys.readouterr()
    assert not (out / "report.html").exists() and "report:" not in captured.err


def _run_scenarios() -> list[Path]:
    return [p for p in sorted((REPO / "cfx" / "scenarios").glob("*.toml"))
            if re.search(r"(?m)^\[\[agents\]\]", p.read_text())]


def test_there_is_a_run_scenario():
    assert BASELINE in _run_scenarios()


@pytest.mark.parametrize("path", _run_scenarios(), ids=lambda p: p.stem)
def test_report_for_each_shipped_scenario(path, tmp_path):
    sc = scn.load(path)
    sc = msgspec.structs.replace(sc, calendar=msgspec.structs.replace(sc.calendar, days=1),
                                 shocks=[s for s in sc.shocks if s.day < 1])
    out = tmp_path / path.stem
    run_scenario(sc, out, progress=False)
    page = report.write_report(out).read_text()
    assert _sections(page) == {"metrics", "facts", *report.SECTIONS}
    assert page.count(PNG) == len(report.SECTIONS)
    assert f"<h1>{sc.name}</h1>" in page
    _assert_self_contained(page)


def test_margin_calls_and_defaults_are_drawn(runs, tmp_path):
    import datetime as dt

    import pyarrow as pa

    d = tmp_path / "calls"
    shutil.copytree(runs["a"], d)
    ts = int(pq.read_table(d / "book_top.parquet").column("time").cast(pa.int64())[0].as_py())
    day = dt.date(2027, 1, 4)
    mc = pq.read_schema(d / "margin_calls.parquet")
    rows = {n: [0, 0] for n in mc.names}
    rows.update(type=["MarginCallIssued", "MarginCallMet"], time=[ts, ts + 10**12], date=[day, day],
                deadline=[day, day], account=[1, 1], amount_usd_micro=[5 * 10**9, 5 * 10**9])
    tables.write(tables.table(rows, mc), d / "margin_calls.parquet")
    df = pq.read_schema(d / "defaults.parquet")
    rows = {n: [0, 0] for n in df.names}
    rows.update(type=["AccountDefaulted", "DefaultLossCovered"], time=[ts + 2 * 10**12] * 2, date=[day, day],
                account=[2, 2])
    tables.write(tables.table(rows, df), d / "defaults.parquet")
    run = report.load_run(d)
    fig = report.plot_margin(run)
    ax = fig.axes[0]
    assert "1 calls, $5,000 called; 1 defaults" in ax.get_title()
    assert [t.get_text() for t in ax.get_yticklabels()] == ["market_maker (account 1)", "market_maker (account 2)"]
    assert report.png(fig)
