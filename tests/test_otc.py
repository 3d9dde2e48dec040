"""The OTC layer: the RFQ rules, credit, forward settlement and marks, and
a small OTC market run end to end (bilateral cash, the dealers' P&L split,
principals off the exchange)."""

from __future__ import annotations

import datetime as dt
import json
import math
from fractions import Fraction
from pathlib import Path

import msgspec
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cfx.otc import CreditLine, DealerLedger, DealerQuote, Outcome, Rfq, best_quote, expected_price, settlement_price
from cfx.otc.forward import Forward, unfixed_fraction
from cfx.otc.rfq import outcome
from cfx.products import HOPPER, ListingCalendar, business_days, month_days, unfixed_share
from cfx.sim import scenario as scn
from cfx.types import Side

from otc_support import run_with_regions

DATA = Path(__file__).parent / "data"
OTC_SMALL = DATA / "otc_small.toml"


def rfq(side: Side = Side.BUY, reservation: int = 3_000_000, deadline: int = 100) -> Rfq:
    return Rfq(
        id=1,
        client=9,
        ts=0,
        date=dt.date(2027, 1, 4),
        sku="H100",
        region="us-east",
        year=2027,
        month=2,
        gpu_hours=7300,
        side=side,
        deadline_ns=deadline,
        dealers=(1, 2, 3),
        reservation_micro=reservation,
    )


def q(dealer: int, price: int | None, ts: int = 50) -> DealerQuote:
    return DealerQuote(rfq_id=1, dealer=dealer, price_micro=price, ts=ts)


# ----------------------------------------------------------------------------- RFQ rules


def test_a_buying_client_takes_the_lowest_quote_and_a_selling_client_the_highest():
    quotes = [q(1, 2_900_000), q(2, 2_850_000), q(3, 2_950_000)]
    assert best_quote(rfq(Side.BUY), quotes).dealer == 2
    assert best_quote(rfq(Side.SELL, reservation=2_800_000), quotes).dealer == 3


def test_ties_go_to_the_earlier_quote_then_the_lower_dealer():
    assert best_quote(rfq(), [q(3, 2_900_000, ts=40), q(1, 2_900_000, ts=60)]).dealer == 3
    assert best_quote(rfq(), [q(3, 2_900_000, ts=40), q(2, 2_900_000, ts=40)]).dealer == 2


def test_a_quote_after_the_deadline_cannot_win():
    quotes = [q(1, 2_000_000, ts=101), q(2, 2_900_000, ts=100)]  # the cheap one is late
    assert best_quote(rfq(deadline=100), quotes).dealer == 2
    assert best_quote(rfq(deadline=100), [q(1, 2_000_000, ts=101)]) is None
    assert outcome(rfq(deadline=100), [q(1, 2_000_000, ts=101)], None) is Outcome.NO_QUOTES


def test_the_client_walks_away_from_quotes_outside_its_reservation_price():
    quotes = [q(1, 3_000_001), q(2, 3_100_000), q(3, None)]  # one tenth of a cent too dear, and a decline
    assert best_quote(rfq(reservation=3_000_000), quotes) is None
    assert outcome(rfq(), quotes, None) is Outcome.WALKED_AWAY
    assert best_quote(rfq(reservation=3_000_001), quotes).dealer == 1
    seller = rfq(Side.SELL, reservation=3_200_000)
    assert best_quote(seller, quotes) is None  # nobody bids as high as it wants


def test_declines_never_win_and_all_declines_is_no_quotes():
    quotes = [q(1, None), q(2, None)]
    assert best_quote(rfq(), quotes) is None
    assert outcome(rfq(), quotes, None) is Outcome.NO_QUOTES


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 5), st.integers(2_500_000, 3_500_000), st.integers(0, 200)), max_size=8),
    st.sampled_from([Side.BUY, Side.SELL]),
    st.integers(2_500_000, 3_500_000),
)
def test_the_chosen_quote_is_eligible_and_no_eligible_quote_is_better(raw, side, reservation):
    quotes = [q(d, p, ts) for d, p, ts in raw]
    r = rfq(side, reservation=reservation)
    chosen = best_quote(r, quotes)
    ok = [
        x
        for x in quotes
        if x.ts <= r.deadline_ns
        and (x.price_micro <= reservation if side is Side.BUY else x.price_micro >= reservation)
    ]
    if not ok:
        assert chosen is None
        return
    assert chosen in ok
    sign = 1 if side is Side.BUY else -1
    assert all(sign * chosen.price_micro <= sign * x.price_micro for x in ok)


def test_a_credit_line_counts_open_forwards_and_outstanding_quotes_per_client():
    line = CreditLine(10_000_000)
    assert line.allows(7, 10_000_000) and not line.allows(7, 10_000_001)
    line.reserve(1, 7, 6_000_000)  # an outstanding quote
    assert not line.allows(7, 5_000_000) and line.allows(8, 10_000_000)  # another client is not affected
    line.release(1)  # the quote lost
    assert line.allows(7, 10_000_000)
    line.reserve(2, 7, 6_000_000)
    line.book(2, 7, 6_000_000)  # the quote won: open notional now
    assert line.exposure(7) == 6_000_000 and not line.allows(7, 4_000_001)
    line.settle(7, 6_000_000)
    assert line.allows(7, 10_000_000)
    assert CreditLine(0).allows(7, 10**15)  # 0: no limit


# ----------------------------------------------------------------------------- settlement and marks


def feb_fixings() -> dict[dt.date, int]:
    days = business_days(*month_days(2027, 2))
    fix = {d: 3_000_000 + 1_000 * i for i, d in enumerate(days)}
    del fix[days[5]]  # a missing day carries the previous fixing
    fix[dt.date(2027, 1, 29)] = 2_000_000  # outside the month: ignored
    return fix


def test_forward_settles_at_the_hand_computed_monthly_average():
    fix = feb_fixings()
    days = business_days(*month_days(2027, 2))
    assert len(days) == 20
    values = [3_000_000 + 1_000 * i for i in range(20)]
    values[5] = values[4]  # carried
    total = sum(values)  # 60_189_000
    assert total == 60_189_000
    assert settlement_price(fix, 2027, 2) == 3_009_450  # 60_189_000 / 20 exactly
    fix[days[0]] += 10  # 60_189_010 / 20 = 3_009_450.5: half a micro-dollar rounds up
    assert settlement_price(fix, 2027, 2) == 3_009_451
    fix[days[0]] -= 1  # .45 rounds down
    assert settlement_price(fix, 2027, 2) == 3_009_450


def test_the_daily_mark_fills_the_unfixed_days_with_the_latest_fixing():
    fix = feb_fixings()
    days = business_days(*month_days(2027, 2))
    today = days[9]  # ten days fixed
    known = [fix.get(d, fix[days[4]]) for d in days[:10]]
    want = Fraction(sum(known) + 10 * 3_200_000, 20)
    assert expected_price(fix, 2027, 2, today, 3_200_000) == math.floor(want + Fraction(1, 2))
    assert expected_price(fix, 2027, 2, dt.date(2027, 1, 15), 3_200_000) == 3_200_000  # before the month
    assert expected_price(fix, 2027, 2, days[-1], 1) == settlement_price(fix, 2027, 2)  # all fixed
    assert unfixed_fraction(2027, 2, today) == Fraction(1, 2)
    assert unfixed_fraction(2027, 2, days[-1]) == 0 and unfixed_fraction(2027, 2, dt.date(2027, 1, 1)) == 1


def test_buyer_and_seller_values_are_opposite():
    f = Forward(
        id=1,
        rfq_id=1,
        ts=0,
        date=dt.date(2027, 1, 4),
        sku="H100",
        region="us-east",
        year=2027,
        month=2,
        gpu_hours=7300,
        price_micro=2_500_000,
        buyer=3,
        seller=9,
        dealer=3,
        fair_micro=2_490_000,
    )
    assert f.index == "H100.us-east" and f.last_day == dt.date(2027, 2, 26)
    assert f.buyer_value(2_600_000) == 7300 * 100_000
    assert f.side_of(3) == 1 and f.side_of(9) == -1 and f.side_of(5) == 0


def _hedged_ledger(errors: list[int]) -> DealerLedger:
    """A dealer short 7,300 GPU-hours of a forward, hedged long 10 contracts
    of a future on the same index: each day the index moves, the forward's
    mark and the future's expected final settlement move alike, and the
    future settles ``errors[d]`` ticks away from that expected final."""
    ledger = DealerLedger(3)
    f = Forward(
        id=1,
        rfq_id=1,
        ts=0,
        date=dt.date(2027, 1, 4),
        sku="H100",
        region="us-east",
        year=2027,
        month=3,
        gpu_hours=7300,
        price_micro=2_500_000,
        buyer=9,
        seller=3,
        dealer=3,
        fair_micro=2_500_000,
    )
    ledger.trade(f, 2_500_000)
    tick_value, lots = 7_300_000, 10  # micro-$ per tick per contract; 10 x 730 GPU-h = the forward
    moves = [3, -5, 2, 4, -1, -6, 2, 5]  # the index, ticks a day
    mark, before = 2_500_000, 0
    for d, (move, err) in enumerate(zip(moves, errors)):
        mark += move * 10_000
        ledger.mark(f, mark, mark)
        noise = lots * err * tick_value  # position x (settlement - expected final)
        vm = lots * move * tick_value + noise - before
        ledger.end_day(dt.date(2027, 1, 5) + dt.timedelta(days=d), vm, 0, 0, noise - before)
        before = noise
    return ledger


def test_a_perfect_hedge_marked_at_its_expected_final_settlement_takes_all_the_risk_off():
    clean = _hedged_ledger([0] * 8)
    assert clean.effectiveness() == pytest.approx(1.0) and clean.index_effectiveness() == pytest.approx(1.0)
    noisy = _hedged_ledger([4, -3, 5, -4, 3, -5, 4, -3])  # settlements a few ticks off, day by day
    assert noisy.effectiveness() < 0  # the daily measure counts the settlements' error as the hedge's risk
    assert noisy.index_effectiveness() == pytest.approx(1.0)  # marked like the forward: the whole risk is off
    assert noisy.futures_pnl - clean.futures_pnl == 10 * -3 * 7_300_000  # the error cancels but the last day's


def test_hedge_cost_is_fees_spread_funding_and_margin_per_notional():
    ledger = DealerLedger(3)
    ledger.hedge_fill(4, 1, 300, 2 * 300 - 1, 7_300_000)  # bought 4 at the ask, the mid half a tick lower
    ledger.hedge_fill(2, -1, 300, 2 * 300 - 1, 7_300_000)  # sold 2 above the mid (a passive fill): earned it
    ledger.hedge_fill(1, -1, 299, None, 7_300_000)  # a one-sided book: no spread counted
    ledger.end_day(dt.date(2027, 1, 4), 0, 5_000_000, 100, 0, funding=-2_000_000)
    assert ledger.spread_paid == 4 * 3_650_000 - 2 * 3_650_000 + 0
    assert ledger.hedge_notional == (6 * 300 + 299) * 7_300_000
    s = ledger.summary()
    assert s["hedge_cost_micro"] == 5_000_000 + ledger.spread_paid + 2_000_000 + 100
    assert s["hedge_funding_paid_micro"] == 2_000_000
    assert s["hedge_cost_bps"] == pytest.approx(s["hedge_cost_micro"] / ledger.hedge_notional * 1e4, abs=1e-3)


# ----------------------------------------------------------------------------- the dealer's hedge sizing


def test_a_futures_unfixed_share_follows_its_settlement_rule():
    cal = ListingCalendar(start=dt.date(2027, 1, 4), baskets=[HOPPER])
    avg = cal.series_for(HOPPER, 2027, 2)
    twap = msgspec.structs.replace(avg, settlement="twap_window", window_days=5)  # Feb 22-26, Friday weighs 3 days
    assert unfixed_share(avg, dt.date(2027, 2, 12)) == Fraction(1, 2) == unfixed_fraction(2027, 2, dt.date(2027, 2, 12))
    assert unfixed_share(twap, dt.date(2027, 2, 12)) == 1  # the window has not opened
    assert unfixed_share(twap, dt.date(2027, 2, 23)) == Fraction(1 + 1 + 3, 7)
    assert unfixed_share(avg, dt.date(2027, 2, 26)) == unfixed_share(twap, dt.date(2027, 2, 26)) == 0
    assert unfixed_share(cal.perpetual_for(HOPPER), dt.date(2027, 2, 26)) == 1


def _dealer_targets(
    through: dt.date,
    *,
    hedge_with: str = "futures",
    expiring: tuple[str, ...] = (),
    settlement: str = "monthly_average",
) -> dict[str, int]:
    """The hedge targets of a naive (beta 1) dealer short 73,000 GPU-hours
    (100 contracts' worth) of a February 2027 forward, on a calendar listing
    HOP-G27, HOP-H27 and HOP-PERP; ``expiring`` series are within its roll days."""
    from types import SimpleNamespace

    from cfx.agents.otc_dealer import OtcDealer, OtcDealerSpec

    cal = ListingCalendar(start=dt.date(2027, 1, 4), baskets=[HOPPER], listing="both", settlement=settlement)
    listed = ["HOP-G27", "HOP-H27", "HOP-PERP"]
    ctx = SimpleNamespace(
        otc=SimpleNamespace(published_through=through),
        listed=lambda: listed,
        days_to_expiry=lambda s: 1 if s in expiring else 10,
        perpetual=lambda basket: "HOP-PERP",
        contract=cal.series,
    )
    dealer = OtcDealer(OtcDealerSpec(hedge="naive", hedge_with=hedge_with, roll_days=2))
    dealer.hedge_root, dealer.basket = "HOP", "HOPPER"
    f = Forward(
        id=1,
        rfq_id=1,
        ts=0,
        date=dt.date(2027, 1, 4),
        sku="H100",
        region="us-east",
        year=2027,
        month=2,
        gpu_hours=73_000,
        price_micro=2_500_000,
        buyer=9,
        seller=dealer.account,
        dealer=dealer.account,
        fair_micro=2_500_000,
    )
    dealer.on_otc_trade(ctx, f)
    return dealer.hedge_targets(ctx)


def test_a_forward_hedged_in_its_own_months_future_holds_the_full_size_all_month():
    # February half fixed: the forward and HOP-G27 both take half of a lasting index move, so the hedge is the
    # forward's whole size in contracts, not half of it
    assert _dealer_targets(dt.date(2027, 2, 12)) == {"HOP-G27": 100}
    assert _dealer_targets(dt.date(2027, 2, 19)) == {"HOP-G27": 100}  # three quarters fixed: still all of it
    assert _dealer_targets(dt.date(2027, 1, 29)) == {"HOP-G27": 100}  # before the month


def test_in_its_last_days_the_hedge_stays_in_its_own_month_and_in_the_perpetual_it_is_the_unfixed_share():
    # February 24, HOP-G27 within the roll days: held into its final settlement (the same average as the
    # forward's), not rolled into March; the perpetual takes all of an index move, so only the unfixed half
    assert _dealer_targets(dt.date(2027, 2, 24), expiring=("HOP-G27",)) == {"HOP-G27": 100}
    assert _dealer_targets(dt.date(2027, 2, 12), hedge_with="perpetual") == {"HOP-PERP": 50}
    assert _dealer_targets(dt.date(2027, 2, 26)) == {}  # all fixed: nothing to hedge


def test_a_twap_window_future_is_held_in_the_forwards_share_over_the_windows():
    # February 23: 3 of 20 business days unfixed for the forward; 5 of the window's 7 day-weights for HOP-G27
    assert _dealer_targets(dt.date(2027, 2, 12), settlement="twap_window") == {"HOP-G27": 50}  # window not open
    assert _dealer_targets(dt.date(2027, 2, 23), settlement="twap_window") == {"HOP-G27": 21}  # 100 x 3/20 x 7/5


# ----------------------------------------------------------------------------- a small OTC market


@pytest.fixture(scope="module")
def otc_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("otc") / "run"
    run_with_regions(scn.load(OTC_SMALL), out)
    return out


def table(run: Path, name: str) -> list[dict]:
    return pq.read_table(run / name).to_pylist()


def test_principals_trade_forwards_with_dealers_and_never_the_exchange(otc_run):
    summary = json.loads((otc_run / "summary.json").read_text())
    otc = summary["otc"]
    assert otc["forwards"] >= 10 and otc["volume_gpu_hours"] > 0
    assert otc["principals_exchange_lots"] == 0 and otc["principals_share_of_exchange_volume"] == 0.0
    agents = {r["account"]: r["agent_type"] for r in table(otc_run, "agents.parquet")}
    trades = table(otc_run, "otc_trades.parquet")
    assert sum(r["gpu_hours"] for r in trades) == otc["volume_gpu_hours"]
    for r in trades:
        assert agents[r["dealer"]] == "otc_dealer" and r["dealer"] in (r["buyer"], r["seller"])
        side = "neocloud" if r["client"] == r["seller"] else "inference_platform"
        assert agents[r["client"]] == side  # neoclouds sell capacity, platforms buy it
    rfqs = {r["rfq_id"]: r for r in table(otc_run, "otc_rfqs.parquet")}
    for r in trades:
        row = rfqs[r["rfq_id"]]
        assert (
            row["outcome"] == "traded"
            and row["dealer"] == r["dealer"]
            and row["price_usd_micro"] == r["price_usd_micro"]
        )
        priced = [x for x in row["quotes"] if x["status"] == "quoted"]
        better = [
            x
            for x in priced
            if (
                x["price_usd_micro"] < r["price_usd_micro"]
                if row["side"] == "buy"
                else x["price_usd_micro"] > r["price_usd_micro"]
            )
        ]
        assert not better  # the best quote won
        assert {x["dealer"] for x in row["quotes"]} <= set(row["dealers_asked"])
        assert all(x["time"] > row["time"] for x in row["quotes"])  # answers take time


def test_every_settled_forward_moves_cash_between_its_two_parties_only(otc_run):
    rows = table(otc_run, "otc_settlements.parquet")
    trades = {r["forward_id"]: r for r in table(otc_run, "otc_trades.parquet")}
    fix = {}
    for r in table(otc_run, "fixings.parquet"):
        fix.setdefault(r["index"], {})[r["date"]] = r["value_usd_micro"]
    assert rows, "January's forwards settle on the last day"
    by_forward: dict[int, list] = {}
    for r in rows:
        by_forward.setdefault(r["forward_id"], []).append(r)
    for fid, pair in by_forward.items():
        t = trades[fid]
        assert sorted(r["account"] for r in pair) == sorted((t["buyer"], t["seller"]))
        assert sum(r["cash_usd_micro"] for r in pair) == 0
        y, m = map(int, t["delivery"].split("-"))
        price = settlement_price(fix[t["index"]], y, m)
        buyer = next(r for r in pair if r["role"] == "buyer")
        assert buyer["settlement_usd_micro"] == price
        assert buyer["cash_usd_micro"] == t["gpu_hours"] * (price - t["price_usd_micro"])


def test_daily_marks_follow_the_forwards_own_index(otc_run):
    fix = {}
    for r in table(otc_run, "fixings.parquet"):
        fix.setdefault(r["index"], {})[r["date"]] = r["value_usd_micro"]
    rows = table(otc_run, "otc_positions.parquet")
    assert rows
    for r in rows:
        y, m = map(int, r["delivery"].split("-"))
        series = fix[r["index"]]
        assert r["mark_usd_micro"] == expected_price(series, y, m, r["date"], series[r["date"]])
        assert r["buyer_value_usd_micro"] == r["gpu_hours"] * (r["mark_usd_micro"] - r["price_usd_micro"])


def test_each_dealers_pnl_split_adds_up_to_its_total_to_the_micro_dollar(otc_run):
    summary = json.loads((otc_run / "summary.json").read_text())
    accounts = table(otc_run, "accounts.parquet")
    positions = table(otc_run, "otc_positions.parquet")
    trades = table(otc_run, "otc_trades.parquet")
    settlements = table(otc_run, "otc_settlements.parquet")
    rate = Fraction("0.05")  # the dealers' default funding rate
    days = sorted({r["date"] for r in accounts})
    assert summary["otc"]["dealers"]
    for account, d in summary["otc"]["dealers"].items():
        a = int(account)
        parts = (
            d["client_spread_micro"]
            + d["hedge_pnl_micro"]
            + d["basis_pnl_micro"]
            - d["fees_micro"]
            - d["margin_cost_micro"]
        )
        assert parts == d["total_pnl_micro"]
        # independently: the futures' variation margin, the forwards' cash and last marks, fees and margin financing
        mine = [r for r in accounts if r["account"] == a]
        vm = sum(r["variation_margin_usd_micro"] for r in mine)
        fees = mine[-1]["fees_total_usd_micro"]
        cost = 0
        for r in mine:
            i = days.index(r["date"])
            gap = (
                (
                    days[i + 1]
                    if i + 1 < len(days)
                    else r["date"] + dt.timedelta(days=3 if r["date"].weekday() == 4 else 1)
                )
                - r["date"]
            ).days
            c = r["initial_margin_usd_micro"] * rate * gap / 365
            cost += -(-c.numerator // c.denominator)
        otc = sum(r["cash_usd_micro"] for r in settlements if r["account"] == a)
        last = {}
        for r in positions:
            if r["dealer"] == a and not r["settled"]:
                last[r["forward_id"]] = r
        for r in last.values():
            if r["date"] == days[-1]:
                otc += r["buyer_value_usd_micro"] if r["buyer"] == a else -r["buyer_value_usd_micro"]
        assert vm + otc - fees - cost == d["total_pnl_micro"], account
        spread = sum(
            (1 if t["buyer"] == a else -1) * t["gpu_hours"] * (t["fair_usd_micro"] - t["price_usd_micro"])
            for t in trades
            if t["dealer"] == a
        )
        assert spread == d["client_spread_micro"]
        assert d["fees_micro"] == fees and d["futures_pnl_micro"] == vm


def test_a_quote_deadline_shorter_than_the_latency_leaves_no_quotes(tmp_path):
    sc = scn.load(OTC_SMALL)
    agents = [msgspec.structs.replace(a, response_ns=1) if hasattr(a, "response_ns") else a for a in sc.agents]
    sc = msgspec.structs.replace(sc, agents=agents, calendar=msgspec.structs.replace(sc.calendar, days=1))
    summary = run_with_regions(sc, tmp_path / "run")
    assert summary["otc"]["rfqs"] > 0 and summary["otc"]["forwards"] == 0
    rows = table(tmp_path / "run", "otc_rfqs.parquet")
    assert all(r["outcome"] == "no_quotes" for r in rows)
    assert any(x["status"] == "late" for r in rows for x in r["quotes"])


def test_a_dealer_declines_past_the_clients_credit_limit(tmp_path):
    sc = scn.load(OTC_SMALL)
    agents = [
        msgspec.structs.replace(a, credit_limit_usd=30_000.0) if hasattr(a, "credit_limit_usd") else a
        for a in sc.agents
    ]
    sc = msgspec.structs.replace(sc, agents=agents, calendar=msgspec.structs.replace(sc.calendar, days=1))
    run_with_regions(sc, tmp_path / "run")
    rows = table(tmp_path / "run", "otc_rfqs.parquet")
    declined = [x for r in rows for x in r["quotes"] if x["reason"] == "credit"]
    assert declined
    for t in table(tmp_path / "run", "otc_trades.parquet"):
        assert t["gpu_hours"] * t["price_usd_micro"] <= 30_000 * 10**6
    open_by: dict = {}
    for t in table(tmp_path / "run", "otc_trades.parquet"):
        key = (t["dealer"], t["client"])
        open_by[key] = open_by.get(key, 0) + t["gpu_hours"] * t["price_usd_micro"]
    assert all(v <= 30_000 * 10**6 for v in open_by.values())


def test_with_exchange_access_a_principal_that_walks_away_hedges_on_the_exchange(tmp_path):
    sc = scn.load(OTC_SMALL)
    agents = []
    for a in sc.agents:
        if hasattr(a, "exchange_access"):
            a = msgspec.structs.replace(a, exchange_access=True, reservation_bps=0.0, patience_ns=600_000_000_000)
        if hasattr(a, "margin_bps"):
            a = msgspec.structs.replace(a, margin_bps=3000.0)  # nobody's price is acceptable
        agents.append(a)
    sc = msgspec.structs.replace(sc, agents=agents, calendar=msgspec.structs.replace(sc.calendar, days=1))
    summary = run_with_regions(sc, tmp_path / "run")
    assert summary["otc"]["forwards"] == 0 and summary["otc"]["rfqs_walked_away"] > 0
    assert summary["otc"]["principals_exchange_lots"] > 0


def test_with_exchange_access_a_principal_hedges_its_exchange_fraction_of_an_unmatched_need_not_in_an_expiring_future():
    from types import SimpleNamespace

    from cfx.agents.natural_hedgers import InferencePlatform, InferencePlatformSpec, Need

    from cfx.products import HOPPER, ListingCalendar

    woke = []
    listing = ListingCalendar(start=dt.date(2027, 1, 4), baskets=[HOPPER], months_ahead=2)
    lots = {}
    for through in (dt.date(2027, 1, 31), dt.date(2027, 2, 15)):
        otc = SimpleNamespace(root=lambda basket: "HOP", published_through=through)
        ctx = SimpleNamespace(
            now=0,
            otc=otc,
            listed=lambda: ["HOP-G27"],
            days_to_expiry=lambda s: 10,
            wake_after=woke.append,
            contract=listing.series,
        )
        for fraction in (1.0, 0.5):
            p = InferencePlatform(InferencePlatformSpec(exchange_access=True, exchange_fraction=fraction))
            p.give_up(ctx, Need("H100", "us-east", 2027, 2, 73_000, by_ns=0, next_try_ns=0))
            (ex,) = p.executors
            assert ex.series == "HOP-G27" and ex.side is Side.BUY
            lots[through.day, fraction] = ex.remaining
    # 73,000 GPU-hours = 100 contracts of February's own monthly-average future, which loses its fixed share
    # just as the need does: the full size before the month and half way through it
    assert lots == {(31, 1.0): 100, (31, 0.5): 50, (15, 1.0): 100, (15, 0.5): 50}
    expiring = SimpleNamespace(
        now=0, otc=otc, listed=lambda: ["HOP-G27"], days_to_expiry=lambda s: 2, wake_after=woke.append
    )
    p = InferencePlatform(InferencePlatformSpec(exchange_access=True, exchange_min_days=2))
    p.give_up(expiring, Need("H100", "us-east", 2027, 2, 73_000, by_ns=0, next_try_ns=0))
    assert not p.executors and p.unhedged == 1  # not in a future about to expire


def test_intervals_near_int64_mean_never_on_either_schedule(tmp_path, monkeypatch):
    """A scenario may set an RFQ deadline, a noise trader's interval or a maker's requote interval to
    ~9e18 ns (TOML's largest integers are 2**63 - 1): added to the clock they pass int64, which the
    compiled schedule refused (OverflowError). They are kept at NEVER_NS, so they never come, and
    both schedules run the same."""
    from cfx import core

    sc = scn.load(OTC_SMALL)
    far = 9 * 10**18
    for i, a in enumerate(sc.agents):  # the neoclouds' RFQs never close; the inference platforms' do
        field = {"neocloud": "response_ns", "market_maker": "requote_interval_ns", "noise_trader": "mean_interval_ns"}
        name = field.get(type(a).__struct_config__.tag)
        if name is not None:
            sc.agents[i] = msgspec.structs.replace(a, **{name: far})
    hashes = {}
    for engine in ("python", "compiled") if core.available() else ("python",):
        monkeypatch.setenv("CFX_ENGINE", engine)
        run_with_regions(sc, tmp_path / engine)
        summary = json.loads((tmp_path / engine / "summary.json").read_text())
        hashes[engine] = summary["run_hash"]
        clients = set(
            table(tmp_path / engine, "otc_rfqs.parquet")[i]["client_type"] for i in range(summary["otc"]["rfqs"])
        )
        assert summary["otc"]["rfqs"] > 0 and clients == {"inference_platform"}
    assert len(set(hashes.values())) == 1
