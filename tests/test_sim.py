"""End-to-end tests of the scenario runner: `cfx run` and its outputs."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import cfx
from cfx import core
from cfx.cli import main
from cfx.sim import scenario as scn
from cfx.sim.clock import epoch_ns, minutes
from cfx.sim.outputs import events_of
from cfx.sim.run import run_scenario
from cfx.types import encoder

DATA = Path(__file__).parent / "data"
SMALL = DATA / "sim_small.toml"
RUN_FILES = (
    "journal",
    "events.parquet",
    "trades.parquet",
    "book_top.parquet",
    "fixings.parquet",
    "settlements.parquet",
    "accounts.parquet",
    "agents.parquet",
    "indicative.parquet",
    "summary.json",
    "run.log",
)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "small"
    assert main(["run", str(SMALL), "--out", str(out), "--quiet"]) == 0
    return out


def test_run_writes_every_output(small_run):
    for name in RUN_FILES:
        assert (small_run / name).exists(), name
    summary = json.loads((small_run / "summary.json").read_text())
    assert summary["scenario"] == "small"
    assert summary["engine_messages"] > 1000
    assert summary["trades"] > 0 and summary["volume_contracts"] > 0
    assert sum(summary["settlement_tiers"].values()) == 2 * 2  # two series, two days
    trades = pq.read_table(small_run / "trades.parquet")
    assert trades.num_rows == summary["trades"]
    assert sum(trades.column("qty_lots").to_pylist()) == summary["volume_contracts"]
    settlements = pq.read_table(small_run / "settlements.parquet").to_pylist()
    assert {s["tier"] for s in settlements} <= {"vwap", "mid", "index_moved", "final"}
    # the books' engine CFX_ENGINE picks (auto: the compiled book where it is built, cfx.core.AUTO_BOOK)
    assert json.loads((small_run / "timing.json").read_text())["engine"] == core.choose_book()


def test_variation_margin_sums_to_zero_every_day(small_run):
    rows = pq.read_table(small_run / "accounts.parquet").to_pylist()
    by_day: dict = {}
    for r in rows:
        by_day[r["date"]] = by_day.get(r["date"], 0) + r["variation_margin_usd_micro"]
    assert by_day and all(v == 0 for v in by_day.values())


def test_same_scenario_and_seed_give_identical_outputs(small_run, tmp_path):
    sc = scn.load(SMALL)
    again = run_scenario(sc, tmp_path / "again", progress=False)
    first = json.loads((small_run / "summary.json").read_text())
    assert again["run_hash"] == first["run_hash"]
    assert (tmp_path / "again" / "journal").read_bytes() == (small_run / "journal").read_bytes()
    assert (tmp_path / "again" / "summary.json").read_bytes() == (small_run / "summary.json").read_bytes()
    assert (tmp_path / "again" / "indicative.parquet").read_bytes() == (small_run / "indicative.parquet").read_bytes()


def test_a_different_seed_gives_a_different_run(small_run, tmp_path):
    sc = msgspec.structs.replace(scn.load(SMALL), seed=8)
    other = run_scenario(sc, tmp_path / "other", progress=False)
    assert other["run_hash"] != json.loads((small_run / "summary.json").read_text())["run_hash"]


def test_replaying_the_journal_reproduces_the_event_log(small_run, capsys, tmp_path):
    log = tmp_path / "events.jsonl"
    assert main(["replay", str(small_run / "journal"), "--events", str(log)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["events_sha256"] == json.loads((small_run / "summary.json").read_text())["run_hash"]
    events = events_of(pq.read_table(small_run / "events.parquet"))  # the table is the log, losslessly
    assert log.read_text().splitlines() == [encoder.encode(e).decode() for e in events]


@pytest.mark.parametrize(
    "patch, message",
    [
        ('[[agents]]\ntype = "market_maker"\nhalf-spread-ticks = -1\n', "agents[3].half-spread-ticks"),
        ('[[agents]]\ntype = "market_wizard"\n', "agents[3]"),
        ("[calendar]\ndays = 0\n", "calendar.days"),
        ("bogus = 1\n", "bogus"),
        ('[[shocks]]\ntype = "index-move"\nday = 99\npct = -10\n', "shocks[0].day"),
        ('[[shocks]]\ntype = "mm-withdrawal"\nday = 1\ntime = "09:30"\nminutes = 30\n', "shocks[0].minutes"),
        ("[rules.liquidation]\nslice-lots = 0\n", "rules.liquidation.slice-lots"),
    ],
)
def test_bad_scenario_names_the_path_and_exits_2(tmp_path, capsys, patch, message):
    text = SMALL.read_text()
    if patch.startswith("[calendar]"):
        text = text.replace("days = 2", "days = 0")
    elif patch.startswith("bogus"):
        text = patch + text
    else:
        text = text + "\n" + patch
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    code = main(["run", str(bad), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "out" / "journal").exists()


def test_missing_scenario_file_exits_2(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.toml"), "--quiet"]) == 2
    assert "nope.toml" in capsys.readouterr().err


def test_every_shipped_scenario_decodes():
    root = Path(__file__).resolve().parents[1] / "cfx" / "scenarios"
    runs = [p for p in root.glob("*.toml") if "[[agents]]" in p.read_text()]
    assert runs
    for path in runs:
        sc = scn.load(path)
        assert sc.question, f"{path.name} says what question it answers"


def test_kill_switch_halts_every_series_and_each_reopens_by_auction(tmp_path):
    text = SMALL.read_text() + '\n[[shocks]]\ntype = "kill-switch"\nday = 0\ntime = "09:00"\nminutes = 10\n'
    path = tmp_path / "kill.toml"
    path.write_text(text)
    summary = run_scenario(scn.load(path), tmp_path / "kill", progress=False)
    assert summary["halts"] == 2  # both listed series
    events = [msgspec.to_builtins(e) for e in events_of(pq.read_table(tmp_path / "kill" / "events.parquet"))]
    changes = [e for e in events if e["type"] == "SessionStateChanged"]
    halted = [c for c in changes if c["new"] == "halted"]
    reopened = [c for c in changes if c["old"] == "reopening_auction"]
    assert len(halted) == 2 and len(reopened) == 2
    assert all(r["ts"] - h["ts"] == 10 * 60 * 10**9 for h, r in zip(halted, reopened))
    # nothing traded while halted
    trades = [e["ts"] for e in events if e["type"] == "Trade"]
    assert not [t for t in trades if halted[0]["ts"] < t < reopened[0]["ts"]]


def test_the_opening_auction_runs_every_day(small_run):
    events = [msgspec.to_builtins(e) for e in events_of(pq.read_table(small_run / "events.parquet"))]
    opens = [e for e in events if e["type"] == "SessionStateChanged"]
    assert sum(1 for o in opens if o["old"] == "opening_auction" and o["new"] == "continuous") == 2 * 2
    assert sum(1 for o in opens if o["new"] == "closed") == 2 * 2


DEFAULT_PATCH = """
[[agents]]
type = "noise_trader"
collateral-usd = 15_000
mean-interval-ns = 3_600_000_000_000

[[shocks]]
type = "member-default"
day = 0
agent = "noise_trader"
index = 6
time = "09:00"
qty = 50

[[shocks]]
type = "index-move"
day = 1
pct = -25.0
"""


def journal_commands(path):
    """The commands of a verified journal as dicts (records are `SEQ HASH JSON`
    between the header and the end line)."""
    lines = path.read_text().splitlines()
    assert lines[0] == "cfx-journal 1" and lines[-1].startswith("end ")
    return [json.loads(line.split(" ", 2)[2]) for line in lines[1:-1]]


def test_a_default_is_closed_out_in_the_next_session_through_the_journal_and_replays(tmp_path, capsys):
    path = tmp_path / "default.toml"
    path.write_text(SMALL.read_text().replace("days = 2", "days = 5") + DEFAULT_PATCH)
    out = tmp_path / "run"
    summary = run_scenario(scn.load(path), out, progress=False)
    assert summary["defaults"] == 1
    assert summary["liquidation_fills_contracts"] > 0 and summary["defaulters_open_positions"] == {}
    layers = summary["default_losses_usd_by_layer"]
    assert layers["collateral"] > 0 and set(layers) == {
        "collateral",
        "own_contribution",
        "insurance_fund",
        "others_contributions",
        "house_capital",
        "uncovered",
    }
    assert layers["insurance_fund"] == 0  # no insurance fund configured: the layer pays nothing
    journal = journal_commands(out / "journal")
    base = 1 << 60
    liquidations = [c for c in journal if c["type"] == "SubmitOrder" and c["order_id"] >= base]
    assert liquidations and all(c["tif"] == "ioc" and c["side"] == "sell" for c in liquidations)
    assert any(c["type"] == "MassCancel" and c.get("account") is not None for c in journal)  # the defaulter's cancel
    rows = pq.read_table(out / "defaults.parquet").to_pylist()
    covered = [r for r in rows if r["type"] == "DefaultLossCovered"]
    assert covered and {
        "from_collateral_usd_micro",
        "from_own_contribution_usd_micro",
        "from_fund_usd_micro",
        "from_house_usd_micro",
        "uncovered_usd_micro",
    } <= set(covered[0])
    capsys.readouterr()
    assert main(["replay", str(out / "journal")]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["events_sha256"] == summary["run_hash"]


def test_a_default_auction_crosses_the_position_to_a_market_maker_at_its_bid(tmp_path):
    path = tmp_path / "auction.toml"
    text = SMALL.read_text().replace("days = 2", "days = 5") + DEFAULT_PATCH
    path.write_text(
        text.replace(
            "[rules.clearing]", '[rules.liquidation]\nstyle = "auction"\nauction-discount-ticks = 3\n\n[rules.clearing]'
        )
    )
    sc = scn.load(path)
    out = tmp_path / "run"
    summary = run_scenario(sc, out, progress=False)
    assert summary["defaults"] == 1 and summary["defaulters_open_positions"] == {}
    journal = journal_commands(out / "journal")
    base = 1 << 60
    (sell,) = [c for c in journal if c["type"] == "SubmitOrder" and c["order_id"] >= base]
    bid = journal[journal.index(sell) - 1]  # the winning member's bid, just before the defaulter's order
    assert bid["type"] == "SubmitOrder" and bid["side"] == "buy" and bid["price"] == sell["price"]
    assert bid["qty"] == sell["qty"] and sell["tif"] == "ioc"
    makers = set(
        pq.read_table(out / "agents.parquet")
        .filter(pc.equal(pq.read_table(out / "agents.parquet")["agent_type"], "market_maker"))["account"]
        .to_pylist()
    )
    assert bid["account"] in makers
    trades = pq.read_table(out / "trades.parquet").to_pylist()
    crossed = [t for t in trades if t["taker_id"] == sell["order_id"]]
    assert sum(t["qty_lots"] for t in crossed) == sell["qty"] and all(
        t["price_ticks"] >= sell["price"] for t in crossed
    )


def test_run_hash_does_not_depend_on_pythonhashseed(tmp_path):
    """Two processes with different string-hash seeds (set iteration orders)
    give the same run: nothing the simulation does may follow a set's order.
    otc_market touches both listed months in one command (mass cancels,
    dealers' hedges), where a set of series once decided the publish order."""
    import os
    import subprocess
    import sys

    hashes = []
    for seed in ("1", "2", "3"):
        out = tmp_path / f"h{seed}"
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "cfx",
                "run",
                "otc_market",
                "--set",
                "calendar.days=2",
                "--out",
                str(out),
                "--quiet",
                "--no-report",
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            timeout=600,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        hashes.append(json.loads(proc.stdout.strip().splitlines()[-1])["run_hash"])
    assert len(set(hashes)) == 1, hashes


def _squeeze_final_day(tmp_path, aware: bool) -> tuple[int, int]:
    """The squeeze's last trading day alone (VWAP rule): January's final
    price and the market makers' net lots in the settlement window."""
    sc = cfx.load(
        "settlement_squeeze",
        **{"calendar.start": "2027-01-29", "calendar.days": 1, "agents[1].settlement-aware": aware},
    )
    out = tmp_path / f"aware_{aware}"
    run_scenario(sc, out, progress=False)
    final = [
        r["price_ticks"]
        for r in pq.read_table(out / "settlements.parquet").to_pylist()
        if r["series"] == "HOP-F27" and r["tier"] == "final"
    ]
    makers = {
        r["account"] for r in pq.read_table(out / "agents.parquet").to_pylist() if r["agent_type"] == "market_maker"
    }
    day = sc.calendar.start
    window = (epoch_ns(day, minutes(sc.calendar.settlement_start)), epoch_ns(day, minutes(sc.calendar.close)))
    net = 0
    trades = pq.read_table(out / "trades.parquet")
    for t, ts in zip(trades.to_pylist(), trades.column("time").cast("int64").to_pylist()):
        if t["series"] == "HOP-F27" and window[0] <= ts < window[1]:
            buyer, seller = (
                (t["taker_account"], t["maker_account"])
                if t["aggressor"] == "buy"
                else (t["maker_account"], t["taker_account"])
            )
            net += t["qty_lots"] * ((buyer in makers) - (seller in makers))
    return final[0], net


def test_settlement_aware_makers_fade_a_push_into_a_vwap_final_settlement(tmp_path):
    aware_price, aware_net = _squeeze_final_day(tmp_path, True)
    blind_price, blind_net = _squeeze_final_day(tmp_path, False)
    assert aware_net < blind_net < 0  # both sell the push; knowing the rule, they sell more of it
    assert aware_price + 3 <= blind_price  # and the window's VWAP, the final price, stays lower


def test_the_collector_looks_less_often_during_a_run_and_as_before_after_it(tmp_path, monkeypatch):
    """`_few_collections`: during the simulation the objects built before it
    are frozen and the youngest generation's threshold is raised; after the
    run (a library call: sweeps run many in one process) both are as before."""
    import gc

    from cfx import api
    from cfx.sim.loop import Simulation

    seen = []
    statements = Simulation._statements

    def record(self) -> None:
        seen.append((gc.get_threshold()[0], gc.get_freeze_count()))
        statements(self)

    monkeypatch.setattr(Simulation, "_statements", record)
    before = gc.get_threshold(), gc.get_freeze_count()
    run_scenario(api.load(SMALL, **{"calendar.days": 1}), tmp_path / "run", progress=False)
    assert seen and all(t == 20_000 and frozen > 0 for t, frozen in seen)
    assert (gc.get_threshold(), gc.get_freeze_count()) == before
