"""`cfx hedge`: analytic effectiveness on synthetic markets, input errors,
accounting identities and the command end to end on the sample book."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from cfx import cli
from cfx.errors import InputError
from cfx.hedge import DerivedCurve, Forward, HedgeConfig, Market, read_book, run_backtest
from cfx.hedge.backtest import _round_contracts
from cfx.hedge.curves import read_futures_csv
from cfx.products import HOPPER, business_days, final_settlement, make_series

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parents[1]
BOOK = REPO / "examples" / "dealer_book.csv"

START = dt.date(2020, 1, 6)


def _pair(n: int, rho: float, seed: int, vol: float = 0.26, level: float = 2.65) -> tuple[np.ndarray, np.ndarray]:
    """An index and a SKU price (micro-$), GBMs whose daily log returns have
    correlation `rho` and the same vol."""
    rng = np.random.default_rng(seed)
    z1, z2 = rng.standard_normal((2, n)) * vol / math.sqrt(252)
    r_i = z1
    r_s = rho * z1 + math.sqrt(1 - rho * rho) * z2
    r_i[0] = r_s[0] = 0.0
    return (
        np.round(level * np.exp(np.cumsum(r_i)) * 1e6).astype(np.int64),
        np.round(level * np.exp(np.cumsum(r_s)) * 1e6).astype(np.int64),
    )


def _forward(start: dt.date, end: dt.date, hours: int = 73_000, side: int = 1) -> Forward:
    return Forward(
        id="F",
        sku="H100",
        provider="",
        region="",
        basket="HOPPER",
        delivery_start=start,
        delivery_end=end,
        gpu_hours=hours,
        price_micro=2_650_000,
        side=side,
        line=2,
    )


def _market(dates, index, ref) -> Market:
    curve = DerivedCurve(dates, {"HOPPER": index}, risk_premium=0.0, noise=0.0)
    return Market(dates, {"HOPPER": index}, {"F": ref}, curve)


def _far_forward(n: int) -> tuple[list[dt.date], Forward]:
    """A timeline of n business days and a forward delivering after it ends,
    so the hedge is never inside its delivery month (a pure regression test)."""
    dates = business_days(START, START + dt.timedelta(days=2 * n))[:n]
    last = dates[-1]
    y, m = (last.year + 1, 1)
    return dates, _forward(dt.date(y, m, 1), dt.date(y, m, 28))


# ---------------------------------------------------------------- analytic answers


@pytest.mark.parametrize(("level", "floor"), [(2.65, 0.98), (100.0, 0.999)])
def test_naive_hedge_of_a_forward_priced_at_the_basket_index_is_nearly_perfect(level, floor):
    # 15 months, a one-month forward delivered inside the timeline and held to
    # final settlement (roll_days 0): futures = index, SKU price = index.
    # Only the futures' $0.01 tick rounding is left: at $2.65 (daily sd ~4.3
    # cents) it is ~1% of the variance; at $100 it vanishes.
    dates = business_days(dt.date(2026, 1, 5), dt.date(2027, 3, 31))
    index, _ = _pair(len(dates), 0.0, seed=1, level=level)
    fwd = _forward(dt.date(2027, 3, 1), dt.date(2027, 3, 31), hours=730 * 100)
    res = run_backtest([fwd], _market(dates, index, index), ["unhedged", "naive"], HedgeConfig(roll_days=0))
    naive = res["naive"]
    assert naive.effectiveness() > floor
    # the final settlement is the monthly average of the index
    s = make_series(HOPPER, 2027, 3, first_trading_day=dates[0])
    fixes = {d: int(v) for d, v in zip(dates, index)}
    assert _market(dates, index, index).curve.prices(s)[-1] == final_settlement(s, fixes).price_ticks
    # 100 contracts sold once and cash-settled: no roll trade
    assert int(naive.contracts_traded.sum()) == 100


def test_naive_hedge_with_a_roll_still_hedges_the_delivery_month():
    dates = business_days(dt.date(2026, 1, 5), dt.date(2027, 3, 31))
    index, _ = _pair(len(dates), 0.0, seed=2)
    fwd = _forward(dt.date(2027, 3, 1), dt.date(2027, 3, 31), hours=730 * 100)
    naive = run_backtest([fwd], _market(dates, index, index), ["unhedged", "naive"], HedgeConfig(roll_days=5))["naive"]
    assert naive.effectiveness() > 0.97
    assert int(naive.contracts_traded.sum()) > 100  # the roll into April traded


@pytest.mark.parametrize("seed", [3, 4])
def test_minvar_hedge_of_an_independent_price_is_near_zero_and_naive_adds_risk(seed):
    dates, fwd = _far_forward(2000)
    index, sku = _pair(len(dates), 0.0, seed=seed)
    res = run_backtest([fwd], _market(dates, index, sku), ["unhedged", "naive", "minvar"], HedgeConfig(window=60))
    # min-var: beta estimates ~N(0, 1/60) add ~1/60 of the variance: eff ~ -0.02
    assert abs(res["minvar"].effectiveness()) < 0.1
    # naive adds the whole futures variance (same vol): eff ~ -1
    assert res["naive"].effectiveness() < -0.5


@pytest.mark.parametrize("rho", [0.8, 0.5])
def test_minvar_effectiveness_approaches_rho_squared(rho):
    # 2000 days: the sampling sd of a variance ratio of this size is about
    # 2*rho*(1-rho^2)/sqrt(n) < 0.02, and out-of-sample estimation with a
    # 60-day window costs about (1-rho^2)/60 < 0.013; 0.05 is > 2.5 sd of both.
    dates, fwd = _far_forward(2000)
    index, sku = _pair(len(dates), rho, seed=11)
    res = run_backtest([fwd], _market(dates, index, sku), ["unhedged", "minvar"], HedgeConfig(window=60))
    assert res["minvar"].effectiveness() == pytest.approx(rho * rho, abs=0.05)


# ---------------------------------------------------------------- accounting


def test_costs_fees_and_margin_are_integers_and_add_up():
    dates, fwd = _far_forward(300)
    index, sku = _pair(len(dates), 0.8, seed=5)
    cfg = HedgeConfig(fee=1.25, half_spread=0.5, impact=0.0, rate=0.05)
    r = run_backtest([fwd], _market(dates, index, sku), ["unhedged", "naive"], cfg)["naive"]
    # 73,000 GPU-h -> 100 contracts sold once: fee and half a tick ($3.65) each
    assert int(r.contracts_traded.sum()) == 100
    assert int(r.fees_micro.sum()) == 100 * 1_250_000
    assert int(r.execution_micro.sum()) == 100 * 3_650_000
    assert r.margin_micro.dtype == np.int64 and r.margin_micro.max() > 0
    assert int(r.net_micro.sum()) == int(r.forward_micro.sum() + r.futures_micro.sum() - r.costs_micro.sum())
    # financing: one day of 5% on yesterday's margin, rounded up
    t = 5
    days = (dates[t] - dates[t - 1]).days
    assert r.financing_micro[t] == -(-int(r.margin_micro[t - 1]) * 5 * days // (100 * 365))


def test_rounding_to_contracts_is_half_away_from_zero():
    from fractions import Fraction

    assert _round_contracts(Fraction(365), 730) == 1
    assert _round_contracts(Fraction(-365), 730) == -1
    assert _round_contracts(Fraction(364), 730) == 0
    assert _round_contracts(Fraction(-43_800), 730) == -60


# ---------------------------------------------------------------- inputs


def test_bad_book_row_names_file_line_and_field():
    with pytest.raises(InputError, match=r"hedge_book_bad\.csv:3: field 'gpu_hours': '12x' is not a whole number"):
        read_book(DATA / "hedge_book_bad.csv")


def test_book_errors_for_side_dates_and_uncovered_sku(tmp_path):
    head = "id,sku,provider,region,delivery_start,delivery_end,gpu_hours,price,side\n"
    cases = {
        "F1,H100,lambda,,2027-03-01,2027-03-31,730,2.5,long\n": r":2: field 'side'",
        "F1,H100,lambda,,2027-03-31,2027-03-01,730,2.5,buy\n": r":2: field 'delivery_end'",
        "F1,MI300X,lambda,,2027-03-01,2027-03-31,730,2.5,buy\n": r":2: field 'sku': no basket future covers",
        "F1,H100,lambda,,2027-03-01,2027-03-31,730,-2.5,buy\n": r":2: field 'price'",
    }
    for row, msg in cases.items():
        p = tmp_path / "b.csv"
        p.write_text(head + row)
        with pytest.raises(InputError, match=msg):
            read_book(p)
    p.write_text("id,sku,delivery_start\nF1,H100,2027-03-01\n")
    with pytest.raises(InputError, match=r"b\.csv:1: missing column"):
        read_book(p)


def test_futures_csv_is_read_in_ticks_and_bad_rows_are_named():
    table = read_futures_csv(DATA / "hedge_futures.csv")
    assert table["HOP-H27"][dt.date(2027, 1, 5)] == 265
    with pytest.raises(InputError, match=r"hedge_futures_bad\.csv:3: field 'series'"):
        read_futures_csv(DATA / "hedge_futures_bad.csv")


def test_cli_bad_flag_and_bad_book_exit_2(tmp_path, capsys):
    assert cli.main(["hedge", str(BOOK), "--out", str(tmp_path), "--window", "2"]) == 2
    assert "--window" in capsys.readouterr().err
    assert cli.main(["hedge", str(DATA / "hedge_book_bad.csv"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "hedge_book_bad.csv:3" in err
    assert cli.main(["hedge", str(BOOK), "--out", str(tmp_path), "--futures", str(DATA / "hedge_futures.csv")]) == 2
    assert "no prices for series" in capsys.readouterr().err


def test_cli_an_out_that_cannot_be_a_folder_is_the_only_line_before_any_backtest(tmp_path, capsys, monkeypatch):
    import cfx.hedge

    def no_backtest(*args, **kwargs):
        raise InputError("the backtest ran")

    monkeypatch.setattr(cfx.hedge, "run_backtest", no_backtest)
    existing = tmp_path / "results.txt"
    existing.write_text("the user's file\n")
    for out, why in (
        (existing, "exists and is not a folder"),
        (existing / "sub", "Not a directory"),
        (Path("/proc/nope"), "cannot write"),
    ):
        assert cli.main(["hedge", str(BOOK), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"cfx hedge: error: --out {out}: cannot write: "), err
        assert err.count("\n") == 1 and why in err, err
    assert existing.read_text() == "the user's file\n"
    # a folder still to be made is checked (made, written in, removed): a later refusal leaves nothing
    assert cli.main(["hedge", str(BOOK), "--out", str(tmp_path / "new" / "out")]) == 2
    assert "the backtest ran" in capsys.readouterr().err and not (tmp_path / "new").exists()


def test_cli_an_out_holding_a_run_is_refused_and_its_summary_kept(tmp_path, capsys):
    run = tmp_path / "run"  # e.g. `cfx hedge BOOK --run runs/x --out runs/x`
    run.mkdir()
    (run / "summary.json").write_text('{"run_hash": "abc"}\n')
    (run / "trades.parquet").write_bytes(b"the run's trades")
    assert cli.main(["hedge", str(BOOK), "--out", str(run)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"cfx hedge: error: --out {run}: holds a cfx run"), err
    assert (run / "summary.json").read_text() == '{"run_hash": "abc"}\n'
    assert sorted(p.name for p in run.iterdir()) == ["summary.json", "trades.parquet"]
    # a hedge's own earlier output is written over, as before
    out = tmp_path / "hedge"
    assert cli.main(["hedge", str(BOOK), "--policy", "naive", "--out", str(out)]) == 0
    assert cli.main(["hedge", str(BOOK), "--policy", "naive", "--out", str(out)]) == 0


# ---------------------------------------------------------------- end to end


def test_cli_json_prints_the_summary_as_one_json_object_and_no_table(tmp_path, capsys):
    assert cli.main(["hedge", str(BOOK), "--policy", "naive", "--seed", "6", "--out", str(tmp_path), "--json"]) == 0
    out = capsys.readouterr().out
    doc = json.loads(out)  # stdout is the JSON and nothing else: no table around it
    assert doc == json.loads((tmp_path / "summary.json").read_text())
    assert list(doc["policies"]) == ["unhedged", "naive"]
    naive = doc["policies"]["naive"]
    assert 0 < naive["effectiveness"] <= 1 and naive["contracts_traded"] > 0
    assert doc["inputs"]["book"] == BOOK.name and doc["period"]["days"] > 2


def test_cli_on_the_sample_book_writes_outputs_and_is_deterministic(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    assert cli.main(["hedge", str(BOOK), "--policy", "all", "--seed", "6", "--out", str(a)]) == 0
    out = capsys.readouterr().out
    assert "naive" in out and "minvar" in out and "effect." in out
    assert cli.main(["hedge", str(BOOK), "--policy", "all", "--seed", "6", "--out", str(b)]) == 0
    assert (a / "summary.json").read_bytes() == (b / "summary.json").read_bytes()
    assert (a / "daily.csv").read_bytes() == (b / "daily.csv").read_bytes()
    for name in ("daily.parquet", "daily.csv", "summary.json", "cumulative_pnl.png", "hedge_ratio.png", "basis.png"):
        assert (a / name).stat().st_size > 0
    doc = json.loads((a / "summary.json").read_text())
    pol = doc["policies"]
    assert list(pol) == ["unhedged", "naive", "minvar"]
    assert pol["naive"]["effectiveness"] > 0.5 and pol["minvar"]["effectiveness"] > 0.5
    assert pol["naive"]["peak_margin_micro"] > 0 and pol["naive"]["fees_micro"] > 0
    table = pq.read_table(a / "daily.parquet")
    assert table.num_rows == 3 * doc["period"]["days"]
    assert set(table.column("policy").to_pylist()) == {"unhedged", "naive", "minvar"}


def test_cli_with_price_fixing_and_futures_files(tmp_path, capsys):
    # the generator's data written as files reads back into the same market
    from cfx.index import GeneratorConfig, generate_quotes

    quotes = generate_quotes(GeneratorConfig(seed=3, days=70))
    prices = tmp_path / "q.csv"
    with open(prices, "w") as fh:
        fh.write("date,sku,provider,region,term,price,weight\n")
        for q in quotes:
            fh.write(f"{q.date},{q.sku},{q.provider},{q.region},{q.term},{q.price_micro / 1e6:.6f},{q.weight}\n")
    book = tmp_path / "book.csv"
    book.write_text(
        "id,sku,provider,region,delivery_start,delivery_end,gpu_hours,price,side\n"
        "A,H100,lambda,us-east,2027-03-01,2027-03-31,7300,2.60,buy\n"
    )
    out = tmp_path / "o"
    assert cli.main(["hedge", str(book), "--prices", str(prices), "--policy", "naive", "--out", str(out)]) == 0
    doc = json.loads((out / "summary.json").read_text())
    assert list(doc["policies"]) == ["unhedged", "naive"]
    assert doc["period"]["first"] == "2027-01-04"


def test_gaps_in_a_price_series_carry_forward_and_leading_gaps_back_fill():
    from cfx.hedge.curves import carried

    assert carried([None, 5, None, 7], "x").tolist() == [5, 5, 5, 7]
    with pytest.raises(InputError, match="x: no values"):
        carried([None, None], "x")


def test_futures_csv_of_the_derived_curve_reproduces_the_derived_run(tmp_path, capsys):
    from cfx.hedge import load_market
    from cfx.products import add_months

    market = load_market(read_book(BOOK), seed=6)
    fut = tmp_path / "fut.csv"
    with open(fut, "w") as fh:
        fh.write("date,series,price_ticks\n")
        for basket in ("HOPPER", "BLACKWELL"):
            for k in range(12):
                s = market.series(basket, *add_months(2027, 1, k))
                for d, p in zip(market.dates, market.curve.prices(s)):
                    fh.write(f"{d},{s.symbol},{p}\n")
    a, b = tmp_path / "a", tmp_path / "b"
    assert cli.main(["hedge", str(BOOK), "--out", str(a)]) == 0
    assert cli.main(["hedge", str(BOOK), "--out", str(b), "--futures", str(fut)]) == 0
    pa_, pb = (json.loads((x / "summary.json").read_text())["policies"] for x in (a, b))
    assert pa_ == pb


# ---------------------------------------------------------------- a cfx run directory as the market (--run)


RUN_BOOK = (
    "id,sku,provider,region,delivery_start,delivery_end,gpu_hours,price,side\n"
    "B,H200,,,2027-01-04,2027-01-29,14600,2.30,sell\n"  # the H200 index
    "R,H100,,us-east,2027-01-04,2027-01-29,7300,2.60,buy\n"
)  # the H100.us-east index


@pytest.fixture(scope="module")
def sim_run(tmp_path_factory):
    """A three-day run of tests/data/sim_small.toml moved to 2027-01-27..29
    (HOPPER, months-ahead 2: HOP-F27 expires on the 29th, HOP-G27) and a
    book delivering in January 2027, priced from the run's own fixings."""
    from cfx.sim.scenario import load

    from otc_support import run_with_regions

    root = tmp_path_factory.mktemp("hedge_run")
    toml = root / "small3.toml"
    text = (DATA / "sim_small.toml").read_text()
    assert "days = 2\n" in text and "start = 2027-01-04\n" in text
    toml.write_text(text.replace("days = 2\n", "days = 3\n").replace("start = 2027-01-04\n", "start = 2027-01-27\n"))
    run_dir = root / "run"
    run_with_regions(load(toml), run_dir)
    book = root / "book.csv"
    book.write_text(RUN_BOOK)
    settle = pq.read_table(run_dir / "settlements.parquet").to_pylist()
    return run_dir, book, settle


@pytest.fixture
def cfx():
    """The `cfx` command's entry point."""
    return cli.main


def _run_prices(settle, symbol):
    return {r["date"]: r["price_ticks"] for r in sorted(settle, key=lambda r: r["time"]) if r["series"] == symbol}


def _run_fixings(run_dir):
    out: dict = {}
    for r in pq.read_table(run_dir / "fixings.parquet").to_pylist():
        out.setdefault(r["index"], {})[r["date"]] = r["value_usd_micro"]
    return out


def test_cli_hedges_against_a_run_with_its_own_prices_and_fixings(sim_run, cfx, tmp_path, capsys):
    from cfx.hedge import load_market

    run_dir, book, settle = sim_run
    run_days = sorted({r["date"] for r in settle})
    assert len(run_days) == 3
    out = tmp_path / "o"
    assert cfx(["hedge", str(book), "--run", str(run_dir), "--policy", "naive", "--out", str(out)]) == 0
    doc = json.loads((out / "summary.json").read_text())
    assert doc["inputs"]["run"] == run_dir.name
    assert doc["period"] == {"first": run_days[0].isoformat(), "last": run_days[-1].isoformat(), "days": 3}
    # the market: futures = the run's settlements, index = the run's basket fixings, and each forward's
    # reference price = the run's fixing of its own index (the SKU's, or the SKU x region's)
    market = load_market(read_book(book), run=run_dir)
    assert market.dates == run_days
    fix = _run_fixings(run_dir)
    assert market.index["HOPPER"].tolist() == [fix["HOPPER"][d] for d in run_days]
    assert market.ref["B"].tolist() == [fix["H200"][d] for d in run_days]
    assert market.ref["R"].tolist() == [fix["H100.us-east"][d] for d in run_days]
    assert "run" in market.source
    run_px = _run_prices(settle, "HOP-F27")
    assert market.curve.prices(market.series("HOPPER", 2027, 1)).tolist() == [run_px[d] for d in run_days]
    # and the command's futures P&L is made of those prices
    rows = [r for r in pq.read_table(out / "daily.parquet").to_pylist() if r["policy"] == "naive"]
    held = [r["contracts_held"] for r in rows]
    assert any(held)
    assert all(r["funding_micro"] == 0 for r in rows)  # a hedge in monthly futures pays no funding


def test_a_book_the_run_does_not_cover_is_refused_in_one_line(sim_run, cfx, tmp_path, capsys):
    run_dir, _, _ = sim_run
    cases = [
        ("F,H200,,,2027-02-01,2027-02-26,14600,2.30,sell", "covers 2027-01-27..2027-01-29"),  # a month after the run
        ("F,H200,,,2026-12-01,2026-12-31,14600,2.30,sell", "covers 2027-01-27..2027-01-29"),  # a month before it
        ("F,H200,,ap-south,2027-01-04,2027-01-29,14600,2.30,sell", "no fixings of H200.ap-south"),
        ("F,B200,,,2027-01-04,2027-01-29,14600,5.30,sell", "no fixings of basket BLACKWELL"),  # not in this run
        ("F,H200,lambda,,2027-01-04,2027-01-29,14600,2.30,sell", "not provider prices"),
    ]
    for row, message in cases:
        book = tmp_path / "book.csv"
        book.write_text("id,sku,provider,region,delivery_start,delivery_end,gpu_hours,price,side\n" + row + "\n")
        assert cfx(["hedge", str(book), "--run", str(run_dir), "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err and ("book.csv:2" in err or "fixings.parquet" in err), err


def test_run_days_outside_the_run_carry_the_nearest_settlement(sim_run):
    from cfx.hedge import load_market
    from cfx.hedge.run import RunCurve, read_run

    run_dir, book, settle = sim_run
    run_days = sorted({r["date"] for r in settle})
    f = _run_prices(settle, "HOP-F27")
    # before the run (--start in the run's fixing history): back-filled with the first settlement
    market = load_market(read_book(book), run=run_dir, start=dt.date(2027, 1, 4))
    pre = [d for d in market.dates if d < run_days[0]]
    assert len(pre) == 17
    px = market.curve.prices(market.series("HOPPER", 2027, 1)).tolist()
    assert px == [f[run_days[0]]] * len(pre) + [f[d] for d in run_days]
    # after the run: carried forward from the last settlement
    g = _run_prices(settle, "HOP-G27")
    data = read_run(run_dir)
    dates = business_days(run_days[0], run_days[0] + dt.timedelta(days=14))
    curve = RunCurve(dates, {"HOPPER": np.full(len(dates), 2_250_000)}, data)
    s = make_series(HOPPER, 2027, 2, first_trading_day=dates[0])
    assert curve.prices(s).tolist() == [g[d] for d in run_days] + [g[run_days[-1]]] * (len(dates) - 3)


def test_run_prices_are_converted_with_the_runs_tick_and_final_holds(tmp_path):
    import pyarrow as pa

    from cfx.hedge.run import RunCurve, read_run

    days = [dt.date(2027, 1, 27), dt.date(2027, 1, 28), dt.date(2027, 1, 29)]
    run = tmp_path / "run"
    run.mkdir()
    (run / "summary.json").write_text(json.dumps({"tick_usd": 0.005, "contract_unit": 730}))
    time = pa.array([1, 2, 3, 3], pa.int64()).cast(pa.timestamp("ns", tz="UTC"))
    pq.write_table(
        pa.table(
            {
                "time": time,
                "date": days + days[-1:],
                "series": ["HOP-F27"] * 4,
                "price_ticks": [450, 452, 454, 460],
                "tier": ["vwap", "vwap", "vwap", "final"],
            }
        ),
        run / "settlements.parquet",
    )
    pq.write_table(
        pa.table({"date": days, "index": ["HOPPER"] * 3, "value_usd_micro": [2_250_000] * 3}), run / "fixings.parquet"
    )
    data = read_run(run)
    assert data.table["HOP-F27"] == {days[0]: 225, days[1]: 226, days[2]: 230}  # final wins on its day
    dates = days + [dt.date(2027, 2, 1)]
    curve = RunCurve(dates, {"HOPPER": np.full(4, 2_250_000)}, data)
    s = make_series(HOPPER, 2027, 1, first_trading_day=dates[0])
    assert curve.prices(s).tolist() == [225, 226, 230, 230]
    # a run price that is no whole number of $0.01 ticks
    pq.write_table(
        pa.table({"date": days[:1], "series": ["HOP-F27"], "price_ticks": [451], "tier": ["vwap"]}),
        run / "settlements.parquet",
    )
    with pytest.raises(InputError, match=r"settlements\.parquet: row 1: column 'price_ticks': 451 ticks of \$0\.005"):
        read_run(run)
    # a perpetual's marks in a finer tick are rounded half up to the cent (a mark is no trade price)
    pq.write_table(
        pa.table({"date": days, "series": ["HOP-PERP"] * 3, "price_ticks": [451, 449, 452], "tier": ["mark"] * 3}),
        run / "settlements.parquet",
    )
    assert read_run(run).perps["HOP-PERP"] == {days[0]: 226, days[1]: 225, days[2]: 226}


def test_bad_run_inputs_are_input_errors_naming_the_file(sim_run, cfx, tmp_path, capsys):
    import shutil

    import pyarrow as pa

    from cfx.hedge.run import read_run

    run_dir, book, _ = sim_run
    with pytest.raises(InputError, match=r"nope: no such run directory"):
        read_run(tmp_path / "nope")
    bad = tmp_path / "bad"
    bad.mkdir()
    shutil.copy(run_dir / "summary.json", bad)
    with pytest.raises(InputError, match=r"bad/settlements\.parquet: no such file"):
        read_run(bad)
    shutil.copy(run_dir / "settlements.parquet", bad)
    with pytest.raises(InputError, match=r"bad/fixings\.parquet: no such file"):
        read_run(bad)
    pq.write_table(
        pa.table({"date": [dt.date(2027, 1, 4)], "name": ["HOPPER"], "value_usd_micro": [1]}), bad / "fixings.parquet"
    )
    with pytest.raises(InputError, match=r"bad/fixings\.parquet: missing column index"):
        read_run(bad)
    pq.write_table(
        pa.table({"date": [dt.date(2027, 1, 4)], "series": ["HOP-F27"], "px": [225]}), bad / "settlements.parquet"
    )
    with pytest.raises(InputError, match=r"bad/settlements\.parquet: missing column price_ticks"):
        read_run(bad)
    (bad / "settlements.parquet").write_text("not parquet")
    with pytest.raises(InputError, match=r"bad/settlements\.parquet: cannot read as Parquet"):
        read_run(bad)
    # through the command: exit 2, one line naming the file; --run with --futures
    assert cfx(["hedge", str(book), "--run", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "settlements.parquet" in err
    assert (
        cfx(
            [
                "hedge",
                str(book),
                "--run",
                str(run_dir),
                "--futures",
                str(DATA / "hedge_futures.csv"),
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )
    assert "--run and --futures" in capsys.readouterr().err


def test_a_run_with_only_a_perpetual_is_refused_in_one_line(tmp_path, cfx, capsys):
    """A run listing only HOP-PERP (design_perpetual) has no monthly settlements: asked to hedge with the
    months it is one line naming settlements.parquet, exit 2 (it used to be an IndexError traceback); by
    default the hedge takes the perpetual, and without funding.parquet that is one line naming it."""
    import pyarrow as pa

    days = [dt.date(2027, 1, 4), dt.date(2027, 1, 5)]
    run = tmp_path / "run"
    run.mkdir()
    pq.write_table(
        pa.table({"date": days, "series": ["HOP-PERP"] * 2, "price_ticks": [293, 294], "tier": ["mark", "mark"]}),
        run / "settlements.parquet",
    )
    pq.write_table(
        pa.table({"date": days, "index": ["HOPPER"] * 2, "value_usd_micro": [2_930_000] * 2}), run / "fixings.parquet"
    )
    assert cfx(["hedge", str(BOOK), "--run", str(run), "--hedge-with", "months", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "settlements.parquet" in err and "HOP-PERP" in err, err
    assert cfx(["hedge", str(BOOK), "--run", str(run), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "funding.parquet: no such file" in err, err
    assert cfx(["hedge", str(BOOK), "--hedge-with", "perpetual", "--out", str(tmp_path / "o")]) == 2
    assert "--hedge-with perpetual needs --run" in capsys.readouterr().err


def _perp_market(dates, index, ref, marks, funding, tick_value=7_300_000):
    from cfx.hedge.market import PerpetualHedge
    from cfx.products import make_perpetual

    ser = make_perpetual(HOPPER, first_trading_day=dates[0])
    hedge = PerpetualHedge(ser, np.array(marks, dtype=np.int64), funding, tick_value)
    m = Market(
        dates,
        {"HOPPER": np.array(index, dtype=np.int64)},
        {"F": np.array(ref, dtype=np.int64)},
        DerivedCurve(dates, {"HOPPER": np.array(index, dtype=np.int64)}),
        perpetual={"HOPPER": hedge},
    )
    return m


def test_perpetual_hedge_pnl_by_hand_mark_to_mark_plus_funding():
    """One forward (long 7,300 GPU-h, delivering in March: nothing delivered over these two January days),
    naive hedge -7,300 / 730 = -10 perpetual contracts from day 0's close. Day 1: the mark goes
    290 -> 293 ticks ($0.01 x 730 = $7.30 a tick a contract): 10 short lose 3 x 7.30 x 10 = $219; one
    funding interval at rate 1,250e-8 (0.0125 %) on a mark of 291 ticks: a long pays
    291 x 7,300,000 x 1,250 / 1e8 = 26,553.75 micro-$ a contract, so the 10 short receive
    floor(265,537.5) = 265,537 micro-$. No roll, no expiry; fees $1 a contract on day 0 only."""
    dates = [dt.date(2027, 1, 4), dt.date(2027, 1, 5)]
    fwd = _forward(dt.date(2027, 3, 1), dt.date(2027, 3, 31), hours=7_300, side=1)
    m = _perp_market(dates, [2_900_000, 2_930_000], [2_900_000, 2_935_000], [290, 293], [[], [(291, 1250)]])
    res = run_backtest([fwd], m, ["unhedged", "naive"], HedgeConfig())
    r = res["naive"]
    assert r.contracts_held.tolist() == [10, 10] and r.contracts_traded.tolist() == [10, 0]
    assert r.funding_micro.tolist() == [0, 265_537]
    assert r.futures_micro.tolist() == [0, -10 * 3 * 7_300_000 + 265_537]
    assert r.forward_micro.tolist() == [0, 7_300 * 35_000]
    s = r.summary()
    assert s["funding_paid_micro"] == -265_537 and s["futures_pnl_micro"] == -219_000_000 + 265_537
    assert res["unhedged"].summary()["funding_paid_micro"] == 0 and res["unhedged"].summary()["contracts_traded"] == 0
    # a negative rate: shorts pay, floor of what they owe
    m = _perp_market(dates, [2_900_000, 2_930_000], [2_900_000, 2_935_000], [290, 293], [[], [(291, -1250)]])
    assert run_backtest([fwd], m, ["naive"], HedgeConfig())["naive"].funding_micro.tolist() == [0, -265_537]


def test_hedge_with_the_perpetual_of_a_design_perpetual_run(tmp_path_factory, cfx, capsys):
    """End to end: a 3-day design_perpetual run (only HOP-PERP listed) hedged by default with its
    perpetual; the summary reports the funding, and it is what the run's funding.parquet rates and
    marks give the daily positions."""
    from cfx.clearing.funding import funding_payments

    root = tmp_path_factory.mktemp("perp_run")
    run_dir = root / "run"
    scen = REPO / "cfx" / "scenarios" / "design_perpetual.toml"
    assert cfx(["run", str(scen), "--set", "calendar.days=3", "--out", str(run_dir), "--quiet", "--no-report"]) == 0
    book = root / "book.csv"
    book.write_text(
        "id,sku,provider,region,delivery_start,delivery_end,gpu_hours,price,side\n"
        "B,H200,,,2027-01-04,2027-01-29,14600,2.30,sell\n"
        "R,H100,,us-east,2027-01-04,2027-01-29,73000,2.60,buy\n"
        "M,H100,,,2027-02-01,2027-02-26,36500,2.60,sell\n"
    )
    out = root / "o"
    capsys.readouterr()
    assert cfx(["hedge", str(book), "--run", str(run_dir), "--policy", "all", "--out", str(out)]) == 0
    for name in ("daily.parquet", "daily.csv", "summary.json", "cumulative_pnl.png", "hedge_ratio.png", "basis.png"):
        assert (out / name).stat().st_size > 0
    doc = json.loads((out / "summary.json").read_text())
    assert doc["inputs"]["hedge_with"] == "perpetual" and doc["period"]["days"] == 3
    naive = doc["policies"]["naive"]
    assert naive["max_contracts_held"] > 0 and naive["funding_paid_micro"] != 0
    # recompute the funding from funding.parquet's intervals and the held positions
    rows = [r for r in pq.read_table(out / "daily.parquet").to_pylist() if r["policy"] == "naive"]
    fund = pq.read_table(run_dir / "funding.parquet").to_pylist()
    run_summary = json.loads((run_dir / "summary.json").read_text())
    tick_value = round(run_summary["tick_usd"] * 1_000_000) * run_summary["contract_unit"]  # marks in the run's ticks
    assert tick_value == 730_000  # design_perpetual's $0.001 tick on 730 GPU-hours
    intervals = {}
    for f in fund:
        intervals[f["time"]] = (f["time"].date(), f["mark_ticks"], f["rate_1e8"])
    market_days = [r["date"] for r in rows]
    # the naive position is short (the book is net long undelivered hours): sign from the held count
    net = 73_000 - 14_600 - 36_500
    sign = -1 if net > 0 else 1
    want = 0
    for day, mark, rate in intervals.values():
        t = market_days.index(day)
        if t:
            n = sign * rows[t - 1]["contracts_held"]
            want += funding_payments({0: n, 1: -n}, mark, rate, tick_value).get(0, 0)
    assert naive["funding_paid_micro"] == -want
    assert sum(r["funding_micro"] for r in rows) == want
    # asked for the months, the same run is refused in one line
    assert cfx(["hedge", str(book), "--run", str(run_dir), "--hedge-with", "months", "--out", str(out)]) == 2
    assert "no monthly futures settlements" in capsys.readouterr().err


def test_a_run_with_months_and_a_perpetual_hedges_with_either(tmp_path_factory, cfx, capsys):
    """``listing = "both"``: ``--hedge-with perpetual`` holds HOP-PERP (makers quote it through the
    "perp" selector), with the funding its daily column and the summary agree on; by default the
    hedge takes the months, which a 3-day run does not cover (a month needs its whole delivery
    period), so the default is refused in one line naming the month."""
    root = tmp_path_factory.mktemp("both_run")
    run_dir = root / "run"
    scen = REPO / "cfx" / "scenarios" / "design_perpetual.toml"
    assert (
        cfx(
            [
                "run",
                str(scen),
                "--set",
                "calendar.days=3",
                "--set",
                "products.listing=both",
                "--set",
                "products.tick-usd=0.01",  # the months' tick (a hedge holds whole cents)
                "--set",
                'agents[0].series=["front", "perp"]',
                "--out",
                str(run_dir),
                "--quiet",
                "--no-report",
            ]
        )
        == 0
    )
    doc = json.loads((run_dir / "summary.json").read_text())
    assert doc["volume_by_series"].get("HOP-PERP", 0) > 0 and doc["volume_by_series"].get("HOP-F27", 0) > 0
    book = root / "book.csv"
    book.write_text(
        "id,sku,provider,region,delivery_start,delivery_end,gpu_hours,price,side\n"
        "R,H100,,us-east,2027-01-04,2027-01-29,73000,2.60,buy\n"
    )
    out = root / "perp"
    capsys.readouterr()
    assert cfx(["hedge", str(book), "--run", str(run_dir), "--hedge-with", "perpetual", "--out", str(out)]) == 0
    hedge = json.loads((out / "summary.json").read_text())
    assert hedge["inputs"]["hedge_with"] == "perpetual"
    rows = [r for r in pq.read_table(out / "daily.parquet").to_pylist() if r["policy"] == "naive"]
    assert hedge["policies"]["naive"]["funding_paid_micro"] == -sum(r["funding_micro"] for r in rows) != 0
    assert cfx(["hedge", str(book), "--run", str(run_dir), "--out", str(root / "default")]) == 2
    err = capsys.readouterr().err
    assert "delivery 2027-01..2027-01 needs 2027-01-01..2027-01-29" in err and "Traceback" not in err


def test_cli_writes_every_output_file_whole(tmp_path, capsys, monkeypatch):
    from cfx import writes

    whole, atomic = [], writes.atomic

    def spy(path, *args, **kwargs):
        whole.append(Path(path).name)
        return atomic(path, *args, **kwargs)

    monkeypatch.setattr(writes, "atomic", spy)
    assert cli.main(["hedge", str(BOOK), "--policy", "naive", "--seed", "6", "--out", str(tmp_path / "h")]) == 0
    written = sorted(p.name for p in (tmp_path / "h").iterdir())
    assert written and written == sorted(whole)  # through a temporary file and a rename: a crash leaves no half file
