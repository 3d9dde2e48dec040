"""`cfx facts`: each figure on synthetic data with a known answer (pure
functions, then a hand-built run directory through `measure`), and the
command end to end on a tiny real run (exit 0, JSON shape, facts.json, the
report's section) and on a bad run directory (exit 2, one line)."""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cfx import cli, facts, logs, report, tables
from cfx.clearing.tables import fixings_table
from cfx.sim import outputs
from cfx.sim import scenario as scn
from cfx.sim.run import run_scenario

REPO = Path(__file__).resolve().parents[1]
SMALL = REPO / "tests" / "data" / "sim_small.toml"
MIN = 60 * 10**9
UTC = dt.timezone.utc


@pytest.fixture(autouse=True)
def _logs_to_real_stderr():
    yield
    logs.configure()


def ns(day: dt.date, h: int, m: int = 0, s: int = 0) -> int:
    return int(dt.datetime(day.year, day.month, day.day, h, m, s, tzinfo=UTC).timestamp()) * 10**9


def business_days(n: int, start: dt.date = dt.date(2027, 1, 4)) -> list[dt.date]:
    out, d = [], start
    while len(out) < n:
        if d.weekday() < 5:
            out.append(d)
        d += dt.timedelta(days=1)
    return out


# --------------------------------------------------------------------------- pure figures


def test_excess_kurtosis_of_a_three_point_law_is_one_over_p_minus_three():
    a = 0.01
    x = np.array([a, -a] + [0.0] * 18)  # P(|x| = a) = 0.1: m4 / m2^2 = 1 / 0.1
    assert facts.excess_kurtosis(x) == pytest.approx(7.0)
    assert facts.excess_kurtosis(np.tile([1.0, -1.0], 50)) == pytest.approx(-2.0)
    normal = np.random.default_rng(1).normal(size=200_000)
    assert abs(facts.excess_kurtosis(normal)) < 0.05
    assert math.isnan(facts.excess_kurtosis(np.zeros(10)))


def test_grid_returns_stay_within_a_day_and_need_two_sided_mids():
    d1, d2 = business_days(2)
    ts = [ns(d1, 8, m) for m in range(6)] + [ns(d2, 8, m) for m in range(4)]
    mid = [100, 100, 101, 101, np.nan, 101, 200, 200, 200, 202]
    r = facts.grid_returns(np.array(ts), np.array(mid, float), MIN)
    assert len(r) == 2
    # day 1: 100->100, 100->101, 101->101; the NaN snapshot drops two returns; no 101->200 overnight
    assert r[0] == pytest.approx([0.0, math.log(1.01), 0.0])
    assert r[1] == pytest.approx([0.0, 0.0, math.log(1.01)])
    assert facts.zero_fraction(r) == pytest.approx(4 / 6)
    # five-minute grid: only snapshots 0 and 5 min after the day's first one
    r5 = facts.grid_returns(np.array([ns(d1, 8, m) for m in range(11)]), np.arange(100.0, 111.0), 5 * MIN)
    assert r5[0] == pytest.approx([math.log(105 / 100), math.log(110 / 105)])


def test_pooled_acf_exact_values_and_no_products_across_days():
    x = np.tile([1.0, 1.0, -1.0, -1.0], 25)
    acf = facts.pooled_acf([x], (1, 2, 4))
    assert acf[2] == pytest.approx(-1.0) and acf[4] == pytest.approx(1.0)
    assert abs(acf[1]) < 0.02
    # across the boundary the product would be -1: (4 - 1) / 5 = 0.6 if it were counted
    assert facts.pooled_acf([np.ones(3), -np.ones(3)], (1,))[1] == pytest.approx(1.0)
    assert math.isnan(facts.pooled_acf([np.ones(5)], (1,))[1])


def test_markov_sign_series_has_the_known_geometric_acf():
    # a sign that repeats with probability p: ACF(k) = (2p - 1)^k
    rng = np.random.default_rng(7)
    p, n = 0.8, 60_000
    flips = rng.random(n) > p
    signs = np.where(np.cumsum(flips) % 2 == 0, 1.0, -1.0)
    acf = facts.pooled_acf(np.array_split(signs, 6), (1, 2, 10))
    assert acf[1] == pytest.approx(0.6, abs=0.02)
    assert acf[2] == pytest.approx(0.36, abs=0.02)
    assert acf[10] == pytest.approx(0.6**10, abs=0.02)


def test_one_sign_per_aggressing_order():
    day = np.array(["2027-01-04"] * 6 + ["2027-01-05"] * 2, dtype="datetime64[D]")
    taker = np.array([5, 5, 5, 6, 7, 7, 8, 9])
    side = np.array(["buy", "buy", "buy", "sell", "buy", "buy", "sell", "sell"])
    signs = facts.order_signs(day, taker, side)
    assert [s.tolist() for s in signs] == [[1.0, -1.0, 1.0], [-1.0, -1.0]]


def test_lot_shares_by_agent_type():
    shares = facts.lot_shares(np.array([10, 30, 60]), np.array(["mm", "mm", "noise"]), np.array(["noise", "x", "x"]))
    assert shares["mm"] == {"maker": pytest.approx(0.4), "all": pytest.approx(0.2)}
    assert shares["noise"]["maker"] == pytest.approx(0.6)
    assert shares["noise"]["all"] == pytest.approx((60 + 10) / 200)
    assert shares["x"] == {"maker": 0.0, "all": pytest.approx(0.45)}


def _profile(lots_per_hour: list[int], days: int = 2) -> np.ndarray:
    sessions, ts, qty = {}, [], []
    for d in business_days(days):
        close = ns(d, 8 + len(lots_per_hour))
        sessions[np.datetime64(d, "D")] = (ns(d, 8), close)
        for h, q in enumerate(lots_per_hour):
            ts += [ns(d, 8 + h, 10), ns(d, 8 + h, 50)]
            qty += [q // 2, q - q // 2]
        ts.append(close + 10**9)  # after the close: left out
        qty.append(1000)
    return facts.hourly_volume(np.array(ts), np.array(qty), sessions)


def test_intraday_volume_profile_u_shape_ratios():
    prof = _profile([30, 10, 12, 8, 10, 10, 9, 25])
    assert prof.tolist() == [60, 20, 24, 16, 20, 20, 18, 50]
    first, last = facts.u_shape_ratios(prof)
    assert (first, last) == (pytest.approx(3.0), pytest.approx(2.5))
    flat = facts.u_shape_ratios(_profile([10] * 8))
    assert flat == (pytest.approx(1.0), pytest.approx(1.0))
    assert facts.u_shape_ratios(_profile([11, 10, 10, 11], days=1)) == (pytest.approx(1.1), pytest.approx(1.1))


def test_expected_final_settlement_month_to_date_plus_latest():
    fx = {dt.date(2026, 12, 31): 1.0, dt.date(2027, 1, 4): 2.0, dt.date(2027, 1, 6): 5.0}
    # January 2027 has 21 business days (Fri 1st, then four full weeks)
    assert facts.expected_final("HOP-F27", dt.date(2026, 12, 31), fx) == pytest.approx(1.0)
    # Jan 1 carries Dec 31 (1), Jan 4 = 2, Jan 5 carries 2, Jan 6 = 5, 17 days still to fix at 5
    assert facts.expected_final("HOP-F27", dt.date(2027, 1, 6), fx) == pytest.approx((1 + 2 + 2 + 5 + 17 * 5) / 21)
    # February's month has not started: every day at the latest fixing
    assert facts.expected_final("HOP-G27", dt.date(2027, 1, 6), fx) == pytest.approx(5.0)
    assert math.isnan(facts.expected_final("HOP-F27", dt.date(2026, 12, 1), fx))


# --------------------------------------------------------------------------- a hand-built run directory


def _write(path: Path, name: str, cols: dict, schema: pa.Schema | None = None) -> None:
    tables.write(tables.table(cols, schema) if schema is not None else pa.table(cols), path / f"{name}.parquet")


def write_run(
    path: Path,
    *,
    trades: list[dict],
    book: list[tuple],
    agents: dict[int, str],
    settlements: list[tuple] = (),
    fixings: list[tuple] = (),
    auctions: list[tuple] = (),
    batches: list[tuple] = (),
) -> Path:
    """A run directory with exactly these rows (book rows: ts, series, bid,
    ask; ``auctions`` the call auctions' (ts, series), ``batches`` the
    periodic batches'), in the tables' real schemas."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "summary.json").write_text(json.dumps({"scenario": "synthetic", "seed": 1}))
    n = len(trades)
    _write(
        path,
        "trades",
        {
            "seq": list(range(n)),
            "time": [t["ts"] for t in trades],
            "series": [t.get("series", "HOP-F27") for t in trades],
            "price_ticks": [t.get("price", 100) for t in trades],
            "qty_lots": [t.get("qty", 1) for t in trades],
            "maker_id": list(range(10**6, 10**6 + n)),
            "taker_id": [t.get("taker_id", i) for i, t in enumerate(trades)],
            "maker_account": [t.get("maker", 1) for t in trades],
            "taker_account": [t.get("taker", 2) for t in trades],
            "aggressor": [t.get("side", "buy") for t in trades],
        },
        outputs.TRADE_SCHEMA,
    )
    _write(
        path,
        "book_top",
        {
            "time": [b[0] for b in book],
            "series": [b[1] for b in book],
            "bid_ticks": [b[2] for b in book],
            "bid_qty_lots": [5] * len(book),
            "ask_ticks": [b[3] for b in book],
            "ask_qty_lots": [5] * len(book),
            "last_ticks": [None] * len(book),
        },
        outputs.BOOK_TOP_SCHEMA,
    )
    _write(
        path,
        "agents",
        {"account": pa.array(list(agents), pa.int64()), "agent_type": pa.array(list(agents.values()), pa.string())},
    )
    _write(
        path,
        "settlements",
        {
            "time": pa.array([0] * len(settlements), pa.int64()).cast(tables.TIME),
            "date": pa.array([s[0] for s in settlements], pa.date32()),
            "series": pa.array([s[1] for s in settlements], pa.string()),
            "price_ticks": pa.array([s[2] for s in settlements], pa.int64()),
            "tier": pa.array([s[3] if len(s) > 3 else "vwap" for s in settlements], pa.string()),
        },
    )
    tables.write(fixings_table([(f[0], "HOPPER", f[1], 0, "ok") for f in fixings]), path / "fixings.parquet")
    uncrosses = [*auctions, *batches]
    _write(
        path,
        "events",
        {
            "time": pa.array([a[0] for a in uncrosses], pa.int64()).cast(tables.TIME),
            "series": pa.array([a[1] for a in uncrosses], pa.string()),
            "type": pa.array(["AuctionUncrossed"] * len(auctions) + ["BatchUncrossed"] * len(batches), pa.string()),
        },
    )
    return path


def _snapshots(days: list[dt.date], series: str, mids) -> list[tuple]:
    """60-s snapshots 08:00-15:59 of each day; `mids(day_index, minute)` in ticks; bid/ask one tick around it."""
    return [
        (ns(d, 8) + m * MIN, series, mids(i, m) - 1, mids(i, m) + 1) for i, d in enumerate(days) for m in range(480)
    ]


def _by_name(result: dict) -> dict[str, dict]:
    return {f["name"]: f for f in result["facts"]}


def test_measure_on_a_synthetic_run_gives_the_known_figures(tmp_path):
    days = business_days(2)
    # each day: blocks of 20 minutes, mid 100 -> 101 -> 100 then still: returns a, -a, 18 zeros;
    # the two days sit at different levels, so an overnight return would spoil both figures
    base = (100, 300)
    book = _snapshots(days, "HOP-F27", lambda i, m: base[i] + (1 if m % 20 == 1 else 0))
    book += _snapshots(days, "HOP-G27", lambda i, m: 500)  # far month, no trades: never the front
    mm, noise, dealer, idle = 1, 2, 3, 4
    agents = {mm: "market_maker", noise: "noise_trader", dealer: "otc_dealer", idle: "basis_trader"}
    trades = []
    for d in days:
        # 30 aggressing orders a day in runs of three signs; each order fills twice (one sign per order)
        for k in range(30):
            side = "buy" if (k // 3) % 2 == 0 else "sell"
            for j in range(2):
                trades.append(
                    {
                        "ts": ns(d, 9, k, j),
                        "taker_id": 1000 * d.day + k,
                        "side": side,
                        "qty": 2,
                        "maker": mm,
                        "taker": dealer,
                    }
                )
        trades.append({"ts": ns(d, 10), "qty": 40, "maker": noise, "taker": noise, "taker_id": 1})
        trades.append({"ts": ns(d, 11), "qty": 3, "series": "HOP-G27", "maker": noise, "taker": dealer})
    # the open's call auction: a big noise trade that must be left out
    trades.append({"ts": ns(days[0], 8), "qty": 500, "maker": noise, "taker": noise, "taker_id": 2})
    run = write_run(tmp_path / "syn", trades=trades, book=book, agents=agents, auctions=[(ns(days[0], 8), "HOP-F27")])
    result = facts.measure(run)
    f = _by_name(result)
    assert result["run"]["front_months"] == ["HOP-F27"] and result["run"]["auction_trades_left_out"] == 1
    assert f["zero 1-min returns"]["value"] == pytest.approx(18 / 20, abs=1e-3)  # 479 returns a day, 24 blocks
    assert f["zero 1-min returns"]["pass"] is False
    # 24 blocks a day of (a, -a, 18 zeros) minus the last minute's zero: kurtosis near 1/0.1 - 3
    r = np.concatenate(
        [
            np.tile([math.log(101 / 100), -math.log(101 / 100)] + [0.0] * 18, 24)[:479],
            np.tile([math.log(301 / 300), -math.log(301 / 300)] + [0.0] * 18, 24)[:479],
        ]
    )
    assert f["excess kurtosis 1-min"]["value"] == pytest.approx(facts.excess_kurtosis(r), abs=1e-3)
    assert f["excess kurtosis 1-min"]["value"] > 6 and f["excess kurtosis 1-min"]["pass"] is True
    # |r| is a, a, 18 zeros: the lag-1 ACF is high, lags 2-10 slightly negative
    absacf = facts.pooled_acf([np.abs(r[:479]), np.abs(r[479:])], range(1, 11))
    assert f["|1-min return| ACF lags 1-10"]["value"] == pytest.approx(np.mean(list(absacf.values())), abs=1e-4)
    # the mid at 5-minute marks is always the day's base: every 5-min return is zero, so no ACF
    assert f["5-min return ACF lag 1"]["value"] is None and f["5-min return ACF lag 1"]["pass"] is False
    # order signs: 30 orders a day in runs of 3 (+ one noise order): lag 1 about 1/3 - ...; compare with the pure ACF
    day_signs = [1.0 if (k // 3) % 2 == 0 else -1.0 for k in range(30)] + [1.0]
    want = facts.pooled_acf([np.array(day_signs)] * 2, (1, 10))
    assert f["order-sign ACF lag 1"]["value"] == pytest.approx(want[1], abs=1e-4)
    assert f["order-sign ACF lag 1"]["value"] > 0.2 and f["order-sign ACF lag 1"]["pass"] is True
    assert f["order-sign ACF lag 10"]["value"] == pytest.approx(want[10], abs=1e-4)
    # front month only, auction left out: per day mm made 120 lots, noise 40, of 160
    assert f["market-maker share of maker lots"]["value"] == pytest.approx(0.75)
    assert f["noise-trader share of all lots"]["value"] == pytest.approx(80 / 320)
    assert f["noise-trader share of all lots"]["pass"] is True
    assert f["agent types that never trade"]["value"] == ["basis_trader"]
    assert f["agent types that never trade"]["pass"] is False
    # all the volume is at 09:00-11:00: hours 1-2 of 8, so no U
    u = f["intraday volume U-shape (first, last hour / median of the hours between)"]
    assert u["pass"] is False and u["value"] is None
    assert u["note"].endswith("lots per session hour: 0, 240, 80, 0, 0, 0, 0, 0")
    assert result["passed"] + result["failed"] == len(result["facts"]) == 12


def test_a_batch_run_measures_its_batch_prints_and_leaves_out_the_opening_calls(tmp_path):
    days = business_days(2)
    book = _snapshots(days, "HOP-F27", lambda i, m: 100)
    mm, noise, value = 1, 2, 3
    agents = {mm: "market_maker", noise: "noise_trader", value: "value_trader"}
    trades, batches, calls = [], [], []
    for d in days:
        calls.append((ns(d, 8), "HOP-F27"))  # the opening call: 100 lots between noise traders
        trades.append({"ts": ns(d, 8), "qty": 100, "maker": noise, "taker": noise, "taker_id": 1})
        for k in range(30):  # one batch a minute from 09:00, two fills each (one surplus side, one sign)
            ts = ns(d, 9, k)
            batches.append((ts, "HOP-F27"))
            side = "buy" if (k // 3) % 2 == 0 else "sell"
            trades.append({"ts": ts, "qty": 3, "maker": mm, "taker": value, "taker_id": 1000 * d.day + k, "side": side})
            trades.append(
                {"ts": ts, "qty": 1, "maker": noise, "taker": value, "taker_id": 1000 * d.day + k, "side": side}
            )
    run = write_run(tmp_path / "batch", trades=trades, book=book, agents=agents, auctions=calls, batches=batches)
    result = facts.measure(run)
    f = _by_name(result)
    r = result["run"]
    assert (r["matching"], r["batch_uncrosses"], r["auction_trades_left_out"], r["trades_measured"]) == (
        "batch",
        60,
        2,
        120,
    )
    assert r["measured"] == "batch prints: 120 trades of 60 periodic batch uncrosses; 2 call-auction trades left out"
    # the batch prints are measured, the calls' 200 lots are not: mm made 90 of 120 maker lots
    assert f["market-maker share of maker lots"]["value"] == pytest.approx(0.75)
    assert f["noise-trader share of all lots"]["value"] == pytest.approx(30 / 240)
    signs = [1.0 if (k // 3) % 2 == 0 else -1.0 for k in range(30)]
    assert f["order-sign ACF lag 1"]["value"] == pytest.approx(
        facts.pooled_acf([np.array(signs)] * 2, (1,))[1], abs=1e-4
    )
    assert "measured the batch prints: 120 trades" in facts.facts_html(result)


def test_a_continuous_run_says_it_measured_continuous_trading(tmp_path):
    days = business_days(1)
    trades = [{"ts": ns(days[0], 9, k), "maker": 1, "taker": 2} for k in range(5)]
    run = write_run(
        tmp_path / "cont",
        trades=trades,
        book=_snapshots(days, "HOP-F27", lambda i, m: 100),
        agents={1: "market_maker", 2: "value_trader"},
        auctions=[(ns(days[0], 9, 0), "HOP-F27")],
    )
    r = facts.measure(run)["run"]
    assert (r["matching"], r["batch_uncrosses"], r["auction_trades_left_out"], r["trades_measured"]) == (
        "continuous",
        0,
        1,
        4,
    )


def _lead_run(path: Path, lag: int) -> dict:
    """Ten days of a random fixing walk; the front month's settlement is the
    expected final settlement `lag` days ago (0: futures lead, 1: they lag)."""
    days = business_days(12)
    rng = np.random.default_rng(3)
    values = 3_000_000 * np.exp(np.cumsum(rng.normal(0, 0.02, len(days))))
    fx = {d: float(v) / 1e6 for d, v in zip(days, values.round())}
    fixings = [(dt.date(2026, 12, 31), 3_000_000)] + [(d, int(v)) for d, v in zip(days, values.round())]
    fx[dt.date(2026, 12, 31)] = 3.0
    expected = [facts.expected_final("HOP-F27", d, fx) for d in days]
    settle = [(d, "HOP-F27", int(round(expected[max(i - lag, 0)] * 10_000))) for i, d in enumerate(days)]
    settle.append((days[-1], "HOP-F27", 1, "final"))  # a final row is not a daily change
    trades = [{"ts": ns(d, 9)} for d in days]
    run = write_run(
        path, trades=trades, book=[], agents={1: "market_maker", 2: "noise_trader"}, settlements=settle, fixings=fixings
    )
    return _by_name(facts.measure(run))[
        "futures lead the index (corr with same-day, previous-day change in expected final settlement)"
    ]


def test_futures_lead_holds_when_settlements_track_the_same_day_expectation(tmp_path):
    lead = _lead_run(tmp_path / "lead", lag=0)
    same, before = lead["value"]
    assert same == pytest.approx(1.0, abs=1e-3) and before < 0.8 and lead["pass"] is True
    assert lead["note"].startswith("10 daily changes")


def test_futures_lead_fails_when_settlements_follow_the_index_a_day_late(tmp_path):
    lag = _lead_run(tmp_path / "lag", lag=1)
    same, before = lag["value"]
    assert before == pytest.approx(1.0, abs=1e-3) and same < before and lag["pass"] is False


def test_missing_columns_and_empty_tables_are_reported_not_crashed_on(tmp_path):
    run = write_run(tmp_path / "r", trades=[], book=[], agents={1: "market_maker"})
    result = facts.measure(run)
    assert result["passed"] == 0 and len(result["facts"]) == 12
    assert all(f["value"] is None or f["value"] == ["market_maker"] for f in result["facts"])
    # a trades table without the aggressor column: the sign facts say so
    t = pq.read_table(run / "trades.parquet").drop_columns(["aggressor", "taker_id"])
    pq.write_table(t, run / "trades.parquet")
    f = _by_name(facts.measure(run))
    assert "trades lacks taker_id, aggressor" in f["order-sign ACF lag 1"]["note"]
    # nor a time column (with trades and an auction in the log): the facts that need it say so, the rest run
    d = business_days(1)[0]
    run = write_run(
        tmp_path / "r2",
        trades=[{"ts": ns(d, 9, k)} for k in range(3)],
        book=[],
        agents={1: "market_maker", 2: "noise_trader", 3: "basis_trader"},
        auctions=[(ns(d, 8), "HOP-F27")],
    )
    pq.write_table(pq.read_table(run / "trades.parquet").drop_columns(["time"]), run / "trades.parquet")
    f = _by_name(facts.measure(run))
    assert "trades lacks time" in f["market-maker share of maker lots"]["note"]
    assert f["agent types that never trade"]["value"] == ["basis_trader"]


# --------------------------------------------------------------------------- the command


@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("facts") / "small"
    run_scenario(scn.load(SMALL), out, progress=False)
    return out


def test_cfx_facts_on_a_real_run_prints_json_and_writes_facts_json(small_run, capsys):
    assert cli.main(["facts", str(small_run)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"facts", "passed", "failed", "run"}
    assert out["passed"] + out["failed"] == len(out["facts"]) == 12
    for f in out["facts"]:
        assert set(f) - {"note"} == {"name", "value", "target", "pass", "source"} and isinstance(f["pass"], bool)
    assert out["run"]["scenario"] == "small" and out["run"]["days"] == 2
    assert json.loads((small_run / "facts.json").read_text()) == out
    # sim_small has market makers, noise traders and a basis trader; the lot shares are real figures
    f = _by_name(out)
    assert 0.0 <= f["noise-trader share of all lots"]["value"] <= 1.0
    # the report carries the same table
    page = report.write_report(small_run).read_text()
    table = page.split('<section id="facts">', 1)[1].split("</section>", 1)[0]
    assert "<h2>Stylized facts</h2>" in table and table.count("<tr>") == 13
    assert ("PASS" in table) or ("FAIL" in table)


def test_cfx_facts_bad_run_dir_exits_2_with_one_line(tmp_path, capsys):
    assert cli.main(["facts", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such run directory" in err
    half = tmp_path / "half"
    half.mkdir()
    (half / "summary.json").write_text("{}")
    assert cli.main(["facts", str(half)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing trades.parquet" in err
    (half / "summary.json").write_text("[1, 2")
    assert cli.main(["facts", str(half)]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_facts_of_a_copied_run_are_the_same(small_run, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(small_run, copy)
    a, b = facts.measure(small_run), facts.measure(copy)
    assert a["facts"] == b["facts"]


def test_a_principal_that_trades_only_otc_counts_as_trading(tmp_path):
    """Principals trade OTC by design: a forward in otc_trades.parquet makes its
    buyer's and seller's types traders; without it they are idle."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    days = business_days(1)
    book = _snapshots(days, "HOP-F27", lambda i, m: 100)
    agents = {1: "market_maker", 2: "noise_trader", 3: "otc_dealer", 4: "neocloud"}
    trades = [{"ts": ns(days[0], 9), "qty": 2, "maker": 1, "taker": 2, "taker_id": 7}]
    run = write_run(tmp_path / "otc", trades=trades, book=book, agents=agents)
    assert _by_name(facts.measure(run))["agent types that never trade"]["value"] == ["neocloud", "otc_dealer"]
    pq.write_table(pa.table({"buyer": [3], "seller": [4]}), run / "otc_trades.parquet")
    f = _by_name(facts.measure(run))["agent types that never trade"]
    assert f["value"] == [] and f["pass"] is True


# --------------------------------------------------------------------------- the shipped baseline


@pytest.fixture(scope="module")
def baseline_two_days(tmp_path_factory) -> dict[str, dict]:
    import cfx

    out = tmp_path_factory.mktemp("facts") / "baseline"
    run_scenario(cfx.load("baseline", **{"calendar.days": 2}), out, progress=False)
    return _by_name(facts.measure(out))


def test_the_baseline_keeps_its_realism_on_two_days(baseline_two_days):
    """Two days of the shipped baseline (seed 42): the facts a two-day run
    measures reliably pass at their full targets — heavy tails, order-sign
    long memory, market makers making the book, every agent type trading —
    and the ones that need the whole month (5-minute ACF, U-shape, lead;
    checked on 20-day runs of seeds 42, 7 and 123) are kept from the gross
    failures the baseline once had (a mid unchanged in every minute, noise
    traders doing 98 % of the volume) by looser bounds."""
    f = baseline_two_days
    for name in (
        "excess kurtosis 1-min",
        "order-sign ACF lag 1",
        "order-sign ACF lag 10",
        "market-maker share of maker lots",
        "agent types that never trade",
    ):
        assert f[name]["pass"], (name, f[name]["value"], f[name]["target"])
    assert f["zero 1-min returns"]["value"] < 0.6
    assert f["noise-trader share of all lots"]["value"] < 0.35
    assert f["|1-min return| ACF lags 1-10"]["value"] > 0.0
    assert f["intraday volume U-shape (first, last hour / median of the hours between)"]["value"][1] > 1.2


def test_cfx_facts_on_a_short_design_batch_run_measures_its_batch_prints(tmp_path, capsys):
    from cfx import api

    sc = api.load(
        "design_batch", **{"calendar.days": 1, "calendar.settlement-start": "09:15", "calendar.close": "09:30"}
    )
    out = tmp_path / "batch"
    run_scenario(sc, out, progress=False)
    capsys.readouterr()
    assert cli.main(["facts", str(out)]) == 0
    r = json.loads(capsys.readouterr().out)["run"]
    assert r["matching"] == "batch" and r["batch_uncrosses"] > 100
    trades = pq.read_table(out / "trades.parquet").num_rows
    # every trade but the opening calls' is measured (before BatchUncrossed, every one was left out)
    assert r["trades_measured"] > 100 and r["trades_measured"] + r["auction_trades_left_out"] == trades
    assert r["auction_trades_left_out"] < 20
