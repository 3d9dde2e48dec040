"""`cfx sweep`: a grid on a Dask LocalCluster gives the same table as running
the points one by one; failures are rows; resuming skips finished tasks;
bad sweep files exit 2 naming the path.

One LocalCluster (2 worker processes) is shared by the module: starting it
is the slow part.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from pathlib import Path

import msgspec
import pyarrow.parquet as pq
import pytest

from cfx import cli, sweep
from cfx.sweep import stats
from cfx.sim import scenario as scn
from cfx.sim.run import run_scenario
from cli_support import run_cli

DATA = Path(__file__).parent / "data"
SMALL = DATA / "sweep_small.toml"
METRICS = [
    "volume_contracts",
    "mean_spread_ticks",
    "mean_top_depth_contracts",
    "tracking_error_rms",
    "settlement_tiers.vwap",
    "margin_calls",
]


@pytest.fixture(scope="module")
def client():
    # Dask's default dashboard port held by another program (a notebook's cluster): the sweep's own cluster
    # takes a free port instead of fighting for it (which left an unclosed socket, a ResourceWarning here)
    with socket.socket() as busy:
        with contextlib.suppress(OSError):  # already held elsewhere: the same case
            busy.bind(("", 8787))
            busy.listen()
        c = sweep.make_client(workers=2)
    yield c
    sweep.close_client(c)


def _table(out: Path) -> list[dict]:
    return pq.read_table(out / "results.parquet").to_pylist()


def _write_sweep(tmp_path: Path, body: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(f'base = "{DATA / "sweep_base.toml"}"\n' + body)
    return path


def test_sweep_on_two_workers_matches_running_each_point_in_process(client, tmp_path):
    plan = sweep.load(SMALL)
    counts = sweep.run_sweep(plan, tmp_path / "sw", client=client, progress=False)
    assert counts["tasks"] == counts["ran"] == counts["ok"] == 4 and counts["error"] == 0
    rows = _table(tmp_path / "sw")
    assert [(r["products.tick-usd"], r["seed"]) for r in rows] == [(0.01, 1), (0.01, 2), (0.02, 1), (0.02, 2)]
    assert {r["status"] for r in rows} == {"ok"}

    base = scn.load(DATA / "sweep_base.toml")
    for r in rows:
        sc = msgspec.structs.replace(
            base, seed=r["seed"], products=msgspec.structs.replace(base.products, tick_usd=r["products.tick-usd"])
        )
        summary = run_scenario(sc, tmp_path / f"inproc-{r['point_id']}-{r['seed']}", progress=False)
        expected = sweep.scalar_metrics(summary)
        assert r["run_hash"] == summary["run_hash"]
        assert {m: r[m] for m in METRICS} == {m: expected[m] for m in METRICS}
        assert json.loads((tmp_path / "sw" / r["run_dir"] / "summary.json").read_text())["run_hash"] == r["run_hash"]
    assert len({r["run_hash"] for r in rows}) == 4  # seeds and tick sizes all differ

    report = (tmp_path / "sw" / "report.html").read_text()
    assert "products.tick-usd" in report and report.count("data:image/png;base64,") == 1
    # the points compared: mean ± s.e. over the two seeds, by hand
    vols = {t: [r["volume_contracts"] for r in rows if r["products.tick-usd"] == t] for t in (0.01, 0.02)}
    for t, (a, b) in vols.items():
        want = f"{stats.fmt((a + b) / 2)} ± {stats.fmt(abs(a - b) / 2)}"  # sd / sqrt 2 of two values = |a - b| / 2
        assert want in report and want in (tmp_path / "sw" / "summary.md").read_text(), want
    manifest = json.loads((tmp_path / "sw" / "sweep.json").read_text())
    assert manifest["tasks"] == 4 and manifest["params"] == ["products.tick-usd"]


def test_a_failing_point_is_recorded_and_the_sweep_goes_on(client, tmp_path):
    # a basket of a SKU the index never quotes: valid as a scenario, fails when the run builds its fixings
    path = _write_sweep(
        tmp_path,
        'seeds = [3, 4]\n[grid]\n"products.baskets[0].weights" = [{ H999 = 1.0 }, { H100 = 0.6, H200 = 0.4 }]\n',
    )
    counts = sweep.run_sweep(sweep.load(path), tmp_path / "sw", client=client, progress=False)
    assert (counts["ran"], counts["ok"], counts["error"]) == (4, 2, 2)
    rows = _table(tmp_path / "sw")
    bad = [r for r in rows if r["status"] == "error"]
    good = [r for r in rows if r["status"] == "ok"]
    assert len(bad) == 2 and all("H999" in r["products.baskets[0].weights"] for r in bad)
    assert all("Traceback" in r["error"] and "SKU H999 never quoted" in r["error"] for r in bad)
    assert all(r["run_hash"] is None and r["volume_contracts"] is None for r in bad)
    assert len(good) == 2 and all(r["run_hash"] and r["volume_contracts"] > 0 for r in good)
    assert "Failed runs" in (tmp_path / "sw" / "report.html").read_text()
    # the CLI says so with exit code 1, and retries only the failed tasks
    assert (
        cli.main(
            ["sweep", str(path), "--out", str(tmp_path / "sw"), "--scheduler", client.scheduler.address, "--quiet"]
        )
        == 1
    )


def test_resumed_sweep_runs_only_what_is_missing(client, tmp_path, capsys):
    out = tmp_path / "sw"
    plan = sweep.load(SMALL)
    sweep.run_sweep(plan, out, client=client, progress=False)
    summaries = sorted(out.glob("runs/*/summary.json"))
    mtimes = {p: p.stat().st_mtime_ns for p in summaries}
    first = {r["key"]: r["run_hash"] for r in _table(out)}

    # as if the sweep had crashed before the last result was written
    parts = sorted((out / "results").glob("part-*.parquet"))
    lost = sweep.read_part(parts[-1])[0]
    parts[-1].unlink()
    ran: list[dict] = []
    counts = sweep.run_sweep(plan, out, client=client, progress=False, on_row=ran.append)
    assert (counts["skipped"], counts["ran"]) == (3, 1) and [r["key"] for r in ran] == [lost["key"]]
    assert {r["key"]: r["run_hash"] for r in _table(out)} == first
    changed = [p for p in summaries if p.stat().st_mtime_ns != mtimes[p]]
    assert changed == [out / lost["run_dir"] / "summary.json"]

    # a part file that cannot be read and a half-written one: that task runs again, the leftover goes
    broken = sorted((out / "results").glob("part-*.parquet"))[0]
    broken_key = sweep.read_part(broken)[0]["key"]
    broken.write_bytes(b"not parquet")
    (out / "results" / "part-0042.tmp").write_bytes(b"half")
    ran.clear()
    counts = sweep.run_sweep(plan, out, client=client, progress=False, on_row=ran.append)
    assert counts["ran"] == 1 and ran[0]["key"] == broken_key and ran[0]["status"] == "ok"
    assert not list((out / "results").glob("*.tmp"))

    # the same command again runs nothing (through the CLI, on the shared cluster)
    assert cli.main(["sweep", str(SMALL), "--out", str(out), "--scheduler", client.scheduler.address, "--quiet"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert (printed["skipped"], printed["ran"]) == (4, 0)

    # a changed sweep: a new tick size runs only its own point; a dropped one leaves the table
    edited = tmp_path / "edited.toml"
    edited.write_text(
        SMALL.read_text()
        .replace('base = "sweep_base.toml"', f'base = "{DATA / "sweep_base.toml"}"')
        .replace("[0.01, 0.02]", "[0.02, 0.05]")
    )
    counts = sweep.run_sweep(sweep.load(edited), out, client=client, progress=False)
    assert (counts["skipped"], counts["ran"]) == (2, 2)
    assert sorted({r["products.tick-usd"] for r in _table(out)}) == [0.02, 0.05]


@pytest.mark.parametrize(
    "body, where",
    [
        ('seeds = 2\n[grid]\n"products.tick-usd" = [0.01, -1.0]\n', 'grid."products.tick-usd"[1]: products.tick-usd'),
        ('[grid]\n"products.tick_usd" = [0.01]\n', "products.tick_usd: no such key (keys are kebab-case: tick-usd)"),
        ('[grid]\n"agents[7].quote-lots" = [1]\n', "agents has 2 entries, no [7]"),
        ('[grid]\n"agents[0].quote-lots" = [0]\n', "agents[0].quote-lots: Expected `int` >= 1"),
        ('[grid]\n"nope.x" = [1]\n', "nope: no such key"),
        ("[grid]\nproducts.tick-usd = [0.01]\n", "grid.products: Expected `array`, got `object` (quote dotted paths"),
        ('[grid]\n"seed" = [1, 2]\n', "vary seeds with `seeds`"),
        ('metrics = ["spread"]\n[grid]\n"rules.band-pct" = [5.0]\n', "metrics[0]: unknown metric 'spread'"),
        ('seeds = 0\n[grid]\n"rules.band-pct" = [5.0]\n', "seeds: Expected `int` >= 1"),
        ('bogus = 1\n[grid]\n"rules.band-pct" = [5.0]\n', "unknown field `bogus`"),
        ("seeds = 1\n", "grid: nothing to vary"),
        ('[set]\n"calendar.days" = 0\n[grid]\n"rules.band-pct" = [5.0]\n', "set: calendar.days: Expected `int` >= 1"),
        (
            '[random]\npoints = 3\n[random.params."rules.band-pct"]\nlow = 5.0\n',
            'random.params."rules.band-pct": needs low and high',
        ),
        (
            '[random]\npoints = 3\n[random.params."rules.band-pct"]\nlow = 50.0\nhigh = 500.0\n',
            "rules.band-pct: Expected `float` <= 100",
        ),
        ("[grid\n", "not valid TOML"),
        ('labels = ["a"]\n[grid]\n"rules.band-pct" = [5.0, 10.0]\n', "labels: 1 labels for 2 points"),
        (
            'metrics = ["trades"]\nbetter = { volume_contracts = "higher" }\n[grid]\n"rules.band-pct" = [5.0]\n',
            'better."volume_contracts": not one of the sweep\'s metrics',
        ),
        (
            'better = { trades = "more" }\n[grid]\n"rules.band-pct" = [5.0]\n',
            "better.trades: Invalid enum value 'more'",
        ),
    ],
)
def test_bad_sweep_file_exits_2_naming_the_path(tmp_path, capsys, body, where):
    path = _write_sweep(tmp_path, body)
    assert cli.main(["sweep", str(path), "--out", str(tmp_path / "sw"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"cfx sweep: error: {path}:") and where in err, err
    assert not (tmp_path / "sw").exists()  # nothing ran, nothing written


def test_missing_base_and_missing_sweep_file_exit_2(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text('base = "nowhere.toml"\n[grid]\n"rules.band-pct" = [5.0]\n')
    assert cli.main(["sweep", str(path), "--quiet"]) == 2
    assert "base: " in capsys.readouterr().err
    assert cli.main(["sweep", str(tmp_path / "absent.toml"), "--quiet"]) == 2
    assert "cannot read sweep file" in capsys.readouterr().err


def _one_line_exit_2(result, *needles: str) -> str:
    code, _, err = result
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert all(n in err for n in needles), err
    return err


@pytest.fixture
def no_cluster(monkeypatch):
    """A refused flag or folder must be refused before any cluster starts."""

    def refuse(*args, **kwargs):
        raise AssertionError("a Dask cluster was started")

    monkeypatch.setattr("cfx.sweep.runner.make_client", refuse)


@pytest.mark.parametrize("address", ["bogus", "tcp://127.0.0.1:99999", "nope://127.0.0.1:8786"])
def test_a_scheduler_address_dask_cannot_parse_is_one_line_naming_the_flag(tmp_path, capsys, address):
    out = tmp_path / "sw"
    result = run_cli(capsys, "sweep", "--quiet", SMALL, "--out", out, "--scheduler", address)
    _one_line_exit_2(result, "--scheduler", repr(address))
    assert not out.exists()


def test_workers_beyond_four_per_cpu_are_refused_before_a_cluster_starts(tmp_path, capsys, no_cluster):
    out = tmp_path / "sw"
    for n in (4 * len(os.sched_getaffinity(0)) + 1, 100_000):
        _one_line_exit_2(
            run_cli(capsys, "sweep", "--quiet", SMALL, "--out", out, "--workers", n), "--workers", "at most"
        )
    assert not out.exists()


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_an_out_folder_holding_a_run_or_other_files_is_refused_and_left_alone(tmp_path, capsys, no_cluster):
    run = tmp_path / "run"  # what a finished `cfx run` leaves (its markers, a table, its report)
    run.mkdir()
    for name in ("summary.json", "journal", "trades.parquet", "report.html"):
        (run / name).write_text(f"the run's {name}\n")
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "todo.txt").write_text("mine\n")
    (tmp_path / "file").write_text("a file\n")
    before = _files(tmp_path)
    for out, needle in ((run, "holds a cfx run"), (notes, "not a sweep folder"), (tmp_path / "file", "is a file")):
        for extra in ([], ["--fresh"]):
            result = run_cli(capsys, "sweep", "--quiet", "--workers", 1, SMALL, "--out", out, *extra)
            _one_line_exit_2(result, f"--out {out}:", needle)
    assert _files(tmp_path) == before  # nothing written, replaced or removed
    assert not (run / "results").exists() and not (run / "sweep.json").exists()


def test_random_sampling_is_seeded_and_within_range(tmp_path):
    body = (
        "seeds = [1, 2]\n[random]\npoints = 6\nseed = 11\n[random.params]\n"
        '"products.tick-usd" = { low = 0.005, high = 0.05, log = true }\n'
        '"agents[0].quote-lots" = { low = 1, high = 20, integer = true }\n'
        '"products.settlement" = { choices = ["monthly_average", "twap_window"] }\n'
    )
    a, b = sweep.load(_write_sweep(tmp_path, body)), sweep.load(_write_sweep(tmp_path, body, "t.toml"))
    assert a.points == b.points and len(a.points) == 6 and len(a.tasks) == 12 and a.mode == "random"
    for p in a.points:
        assert 0.005 <= p["products.tick-usd"] <= 0.05
        assert isinstance(p["agents[0].quote-lots"], int) and 1 <= p["agents[0].quote-lots"] <= 20
        assert p["products.settlement"] in ("monthly_average", "twap_window")
    t = a.tasks[0]
    sc = msgspec.convert(t.scenario, type=scn.scenario_type())
    assert sc.products.tick_usd == a.points[0]["products.tick-usd"] and sc.seed == 1
    assert sc.agents[0].quote_lots == a.points[0]["agents[0].quote-lots"]


def test_task_key_ignores_name_and_comments_but_not_the_base(tmp_path):
    body = '[grid]\n"rules.band-pct" = [5.0, 10.0]\n'
    keys = [t.key for t in sweep.load(_write_sweep(tmp_path, body)).tasks]
    assert [t.key for t in sweep.load(_write_sweep(tmp_path, 'name = "x"\n# note\n' + body, "t.toml")).tasks] == keys
    assert [
        t.key for t in sweep.load(_write_sweep(tmp_path, '[set]\n"calendar.days" = 2\n' + body, "u.toml")).tasks
    ] != keys


def test_shipped_example_sweep_loads():
    plan = sweep.load(Path(__file__).resolve().parents[1] / "cfx" / "scenarios" / "sweep_tick_size.toml")
    assert plan.params == ["products.tick-usd"] and len(plan.tasks) == 12
    assert all(t.scenario["calendar"]["days"] == 3 for t in plan.tasks)


def _rows(values: dict[int, list[float]], metric: str = "m") -> list[dict]:
    """Sweep rows: per point its values over seeds 1, 2, ..."""
    return [
        {"point": i, "seed": s + 1, "status": "ok", metric: v} for i, vs in values.items() for s, v in enumerate(vs)
    ]


def test_mean_and_standard_error_over_seeds_by_hand():
    c = stats.cell([1.0, 2.0, 6.0])
    assert c.n == 3 and c.mean == 3.0 and c.se == pytest.approx((7.0 / 3) ** 0.5)  # var 7, se sqrt(7/3)
    assert stats.cell([4.0]).se is None and stats.cell([]).mean is None
    rows = _rows({0: [1.0, 2.0, 6.0], 1: [5.0, None, 7.0]})
    got = stats.table(rows, 2, ["m"])["m"]
    assert got[0] == c and got[1].n == 2 and got[1].mean == 6.0  # a missing value is left out, not a zero


def test_a_point_better_on_every_seed_is_clear_and_one_within_the_noise_is_not():
    # point 1 beats point 0 by 1.0 on each of four seeds (noiseless paired difference): clear;
    # point 2 has point 1's mean but differs from it by +-3 seed by seed: within noise
    rows = _rows({0: [10.0, 12.0, 9.0, 11.0], 1: [9.0, 11.0, 8.0, 10.0], 2: [12.0, 8.0, 11.0, 7.0]})
    r = stats.rank(rows, 3, "m", "lower")
    assert r.best == 1 and r.worse == [0] and r.tied == [2]
    assert r.diffs[0] == (1.0, 0.0, 4)
    mean, se, n = r.diffs[2]
    assert mean == pytest.approx(0.0) and n == 4 and se == pytest.approx(3**0.5)  # diffs +-3: sd sqrt(12), / 2
    assert stats.rank(rows, 3, "m", "higher").best == 0  # the direction matters
    text = stats.answer(rows, ["monthly", "perpetual", "batch"], {"m": "lower"})[0]
    assert text.startswith("m (lower is better): best perpetual (9.50 ± 0.645)")
    assert "within noise of it: batch" in text and "worse: monthly (+1.00 ± 0 paired over 4)" in text
    assert stats.answer(_rows({0: [1.0], 1: [2.0]}), ["a", "b"], {"m": "lower"})[0].endswith("not ranked.")


def test_t_quantiles_and_labels():
    assert stats.t95(3) == 3.182 and stats.t95(1000) == 1.96
    points = [{"products": {"matching": "batch", "batch-interval-ms": 200}}, {"rules.band-pct": 5.0}]
    assert stats.point_labels(points, None) == ["matching=batch, batch-interval-ms=200", "rules.band-pct=5.0"]
    assert stats.point_labels(points, ["a", "b"]) == ["a", "b"]


def test_workers_with_a_scheduler_is_refused_as_it_would_be_ignored(tmp_path, capsys, no_cluster):
    out = tmp_path / "sw"
    result = run_cli(
        capsys, "sweep", "--quiet", SMALL, "--out", out, "--scheduler", "tcp://127.0.0.1:1", "--workers", 4
    )
    _one_line_exit_2(result, "--workers", "with --scheduler")
    assert not out.exists()
