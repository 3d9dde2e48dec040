"""The intraday index: bridge, publications, what agents see and when, seeds,
SKU x region indices and the new scenario keys."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import msgspec
import numpy as np
import pyarrow.parquet as pq
import pytest

from cfx import index as ix
from cfx.agents.base import Agent, AgentSpec, Latency, register
from cfx.errors import InputError
from cfx.index.intraday import bridge, indicative
from cfx.products import HOPPER, business_days, first_business_days, month_days
from cfx.sim import scenario as scn
from cfx.sim.clock import NS, epoch_ns, minutes
from cfx.sim.run import build_index, run_scenario

SMALL = Path(__file__).parent / "data" / "sim_small.toml"
MD_NS = 3 * NS  # the recorder's market-data latency, no jitter


class RecorderSpec(AgentSpec, tag="index_recorder"):
    noise_ticks: float = 2.0


@register(RecorderSpec)
class Recorder(Agent):
    """Records every `on_index` call: when, what, and the value signals."""

    subscribes = True

    def __init__(self, spec, index=0):
        super().__init__(spec, index)
        self.seen: list[tuple[int, str, int | None]] = []
        self.signals: list[tuple[float, float]] = []
        self.expected: list[tuple[int, int | None]] = []

    def on_index(self, ctx, name):
        self.seen.append((ctx.now, name, ctx.index_value(name)))
        if name == "HOPPER":
            series = ctx.front()
            self.expected.append((ctx.now, ctx.expected_settlement(series)))
            self.signals.append((ctx.value_signal(series, self.spec.noise_ticks), ctx.value_signal(series, 0.0)))


def _small(days: int = 2, **info) -> scn.Scenario:
    sc = scn.load(SMALL)
    recorder = RecorderSpec(latency=Latency(entry_ns=MD_NS, market_data_ns=MD_NS, jitter_ns=0))
    return msgspec.structs.replace(
        sc,
        agents=[*sc.agents, recorder],
        calendar=msgspec.structs.replace(sc.calendar, days=days),
        information=msgspec.structs.replace(sc.information, **info),
    )


def _record(sc: scn.Scenario, out: Path):
    """Simulate `sc` into `out`: the simulation, its recorder and the indicative publications."""
    from cfx.sim.loop import Simulation
    from cfx.sim.outputs import RunWriter

    built = build_index(sc)
    writer = RunWriter(out)
    sim = Simulation(sc, writer, fixings=built.fixings, intraday=built.intraday)
    sim.run()
    writer.close()
    sim.information.write_table(out / "indicative.parquet")
    agent = next(p.agent for p in sim.participants if isinstance(p.agent, Recorder))
    return sim, agent, _indicative(out)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    sc = _small(indicative_interval_s=120)
    return sc, *_record(sc, tmp_path_factory.mktemp("info"))


# ---------------------------------------------------------------- the process


def test_bridge_is_the_written_out_formula_to_the_bit():
    """`bridge` works in place; these are the same floats as the formula in
    its comment, step by step in fresh arrays (every run hash rests on them)."""
    for seed, span, overnight, k in [(1, 600, 0.25, 2), (7, 37, 0.4, 1), (3, 32_400, 0.3, 9)]:
        betas = np.linspace(0.2, 0.9, k)
        rng = np.random.default_rng(seed)
        u = overnight + (1 - overnight) * np.arange(span + 1) / span
        steps = np.empty((k + 1, span + 1))
        steps[:, 0] = rng.standard_normal(k + 1) * math.sqrt(overnight)
        steps[:, 1:] = rng.standard_normal((k + 1, span)) * math.sqrt((1 - overnight) / span)
        w = np.cumsum(steps, axis=1)
        b = w - u * w[:, -1:]
        expected = betas[:, None] * b[0] + np.sqrt(1 - betas**2)[:, None] * b[1:]
        assert np.array_equal(bridge(np.random.default_rng(seed), span, overnight, betas), expected)


def test_bridge_is_pinned_at_the_fixing_and_has_the_overnight_variance_at_the_pre_open():
    b = bridge(np.random.default_rng(1), 600, 0.25, np.array([0.7, 0.5]))
    assert b.shape == (2, 601) and np.all(b[:, -1] == 0.0)
    draws = np.array([bridge(np.random.default_rng(s), 50, 0.25, np.array([0.7]))[0] for s in range(2000)])
    # Var B(u) = u(1-u): 0.1875 at the pre-open (u = 0.25), 0.25 mid-way in variance time (u = 0.5)
    assert draws[:, 0].var() == pytest.approx(0.1875, rel=0.1)
    assert draws[:, 17].var() == pytest.approx(0.5 * 0.5, rel=0.1)


def test_official_fixing_is_the_indicative_and_latent_value_at_the_fixing_time():
    sc = _small()
    built = build_index(sc)
    intraday = built.intraday
    pre = minutes(sc.calendar.pre_open)
    span = (minutes(sc.calendar.close) - pre) * 60
    publish = np.array([*range(0, span, 60), span])
    for day in first_business_days(sc.calendar.start, 2):
        today = intraday.compute(day, span, publish, (900, span), pre)
        for name, row in zip(today.names, today.values):
            assert row[-1] == built.fixings[name][day], name
        assert today.latent["HOPPER"][-1] == pytest.approx(built.fixings["HOPPER"][day], abs=1.0)


def test_without_overnight_variance_the_latent_value_starts_at_the_previous_daily_value():
    sc = _small(overnight_variance=0.0)
    built = build_index(sc)
    intraday = built.intraday
    sample = intraday.sample
    pre = minutes(sc.calendar.pre_open)
    span = (minutes(sc.calendar.close) - pre) * 60
    day = first_business_days(sc.calendar.start, 2)[1]
    t = sample.dates.index(day)
    assert not [j for j in sample.jumps if j.day == t]  # no jump that day in this sample
    today = intraday.compute(day, span, np.array([0, span]), (900, span), pre)
    start = sum(
        w * math.exp(sample.log_price[s][t - 1]) * built.fixings[s][day] / math.exp(sample.log_price[s][t])
        for s, w in HOPPER.weights.items()
    )
    assert today.latent["HOPPER"][0] == pytest.approx(start, rel=1e-12)


def test_vectorised_trimmed_mean_matches_the_exact_fixing_rule():
    rng = np.random.default_rng(3)
    rule = ix.FixingRule(trim=0.1, min_contributors=1)
    for _ in range(30):
        n = int(rng.integers(1, 8))
        prices = rng.integers(1_000_000, 4_000_000, n)
        weights = rng.integers(1, 500, n)
        quotes = [
            ix.Quote(date=dt.date(2027, 1, 4), sku="H100", provider=f"p{i}", price_micro=int(p), weight=int(w))
            for i, (p, w) in enumerate(zip(prices, weights))
        ]
        got = indicative(prices[:, None].astype(float), weights.astype(float), np.arange(n), rule)[0]
        assert got == pytest.approx(ix.fixing_value(quotes, rule), abs=1.0)


# ---------------------------------------------------------------- publication and latency


def test_indicative_is_published_on_the_schedule_and_recorded(recorded):
    sc, sim, agent, rows = recorded
    hop = sorted(r["ts"] for r in rows if r["index"] == "HOPPER")
    days = first_business_days(sc.calendar.start, 2)
    pre, close = minutes(sc.calendar.pre_open), minutes(sc.calendar.close)
    expected = [
        epoch_ns(d, pre) + s * NS for d in days for s in [*range(0, (close - pre) * 60, 120), (close - pre) * 60]
    ]
    assert hop == expected
    names = {r["index"] for r in rows}
    assert {"HOPPER", "H100", "H200", "H100.us-east", "H200.us-west"} <= names
    assert len(rows) == len(names) * len(expected)  # one row per publication per index
    last = {r["index"]: r["value_usd_micro"] for r in rows if r["ts"] == expected[-1]}
    assert all(last[n] == sim.fixings[n][days[-1]] for n in names)


def test_agents_hear_a_publication_only_after_their_latency_and_see_its_value(recorded):
    sc, sim, agent, rows = recorded
    published = {(r["ts"], r["index"]): r["value_usd_micro"] for r in rows}
    tick = sim.tick_micro
    assert len(agent.seen) > 100
    for now, name, value in agent.seen:
        ts = now - MD_NS
        assert (ts, name) in published, (now, name)  # called exactly its latency after a publication
        assert value == max(1, (published[(ts, name)] + tick // 2) // tick)
    # a value changes on the agent's side only after its latency: one ns earlier it saw the previous one
    by_name: dict = {}
    for (ts, name), v in sorted(published.items()):
        by_name.setdefault(name, []).append((ts, v))
    changes = [(b[0], a[1], b[1]) for a, b in zip(by_name["HOPPER"], by_name["HOPPER"][1:]) if a[1] != b[1]]
    assert changes
    info = sim.information
    ts, before, after = changes[-1]
    saved = sim.now
    try:
        sim.now = ts + MD_NS - 1
        assert info.seen("HOPPER", MD_NS) == before
        sim.now = ts + MD_NS
        assert info.seen("HOPPER", MD_NS) == after
    finally:
        sim.now = saved


def test_value_signal_is_the_latent_value_plus_noise_of_the_given_sd(recorded):
    sc, sim, agent, rows = recorded
    noisy, clean = map(np.array, zip(*agent.signals))
    err = noisy - clean
    assert len(err) > 100
    assert err.std(ddof=1) == pytest.approx(2.0, rel=0.15)
    assert abs(err.mean()) < 3 * 2.0 / math.sqrt(len(err))
    assert np.ptp(clean) > 0  # the latent value moves during the day


def test_expected_settlement_moves_intraday_with_the_indicative(recorded):
    sc, sim, agent, rows = recorded
    day = sc.calendar.start
    close = epoch_ns(day, minutes(sc.calendar.close))
    first_day = [(now, v) for now, v in agent.expected if now < close]
    assert len({v for _, v in first_day}) >= 2  # not once a day
    published = {r["ts"]: r["value_usd_micro"] for r in rows if r["index"] == "HOPPER"}
    hop = sim.fixings["HOPPER"]
    month = business_days(*month_days(day.year, day.month))
    past = [hop[d] for d in month if d < day and d in hop]
    for now, value in first_day:  # month-to-date fixings + the indicative seen for the other days
        micro = published[now - MD_NS]
        assert value == max(1, round((sum(past) + (len(month) - len(past)) * micro) / len(month) / sim.tick_micro))


def test_expected_settlement_of_a_twap_window_future_weighs_only_its_window(tmp_path):
    """products.settlement = twap_window, a 5-day window (Mon 25 - Fri 29 January 2027; Friday's
    fixing is in force three calendar days, so the weights are 1, 1, 1, 1, 3). On Tuesday 26th the
    expected final is Monday's fixing at 1/7 plus the indicative seen at 6/7 -- not the month's
    average of business days, which the month's earlier fixings would drag."""
    sc = _small(days=2, indicative_interval_s=600)
    sc = msgspec.structs.replace(
        sc,
        calendar=msgspec.structs.replace(sc.calendar, start=dt.date(2027, 1, 25)),
        products=msgspec.structs.replace(sc.products, settlement="twap_window", window_days=5),
    )
    sim, agent, rows = _record(sc, tmp_path)
    published = {r["ts"]: r["value_usd_micro"] for r in rows if r["index"] == "HOPPER"}
    monday = sim.fixings["HOPPER"][dt.date(2027, 1, 25)]
    tuesday = [(now, v) for now, v in agent.expected if now >= epoch_ns(dt.date(2027, 1, 26), 0)]
    assert len(tuesday) >= 2
    for now, value in tuesday:
        micro = published[now - MD_NS]
        assert value == max(1, round((monday + 6 * micro) / 7 / sim.tick_micro))


# ---------------------------------------------------------------- seeds and indices


def test_the_scenario_seed_drives_the_index_path_unless_the_generator_pins_it():
    sc = scn.load(SMALL)
    a = build_index(sc).fixings["HOPPER"]
    b = build_index(msgspec.structs.replace(sc, seed=sc.seed + 1)).fixings["HOPPER"]
    assert a != b
    pinned = msgspec.structs.replace(sc, index=msgspec.structs.replace(sc.index, generator=ix.GeneratorConfig(seed=5)))
    c = build_index(pinned).fixings["HOPPER"]
    d = build_index(msgspec.structs.replace(pinned, seed=sc.seed + 1)).fixings["HOPPER"]
    assert c == d and c != a


def test_sku_region_fixings_are_published_and_the_basket_is_its_weighted_skus():
    fixings = build_index(scn.load(SMALL)).fixings
    assert {"H100", "H200", "H100.us-east", "H100.us-west", "H100.us-central", "H100.eu-west", "H200.us-east"} <= set(
        fixings
    )
    for day, value in fixings["HOPPER"].items():
        assert value == HOPPER.value_micro({"H100": fixings["H100"][day], "H200": fixings["H200"][day]})
    # a region index is its own quantity: not the SKU index, and different from region to region
    days = sorted(fixings["H100.us-east"])
    east = np.diff(np.log([fixings["H100.us-east"][d] for d in days]))
    sku = np.diff(np.log([fixings["H100"][d] for d in days]))
    assert not np.allclose(east, sku) and 0.2 < np.corrcoef(east, sku)[0, 1] < 0.99


def test_day_report_carries_every_index_name(recorded):
    sc, sim, agent, rows = recorded
    assert set(sim.published) == set(sim.fixings)


def test_index_move_at_a_time_jumps_the_latent_value_then():
    sc = _small()
    move = scn.IndexMove(day=1, pct=-20.0, time="09:00")
    sc = msgspec.structs.replace(sc, shocks=[move])
    built = build_index(sc)
    plain = build_index(_small())
    day = first_business_days(sc.calendar.start, 2)[1]
    # the index moves with its quotes: a constituent without a fresh quote that day keeps its stale price
    assert built.fixings["HOPPER"][day] / plain.fixings["HOPPER"][day] == pytest.approx(0.8, rel=0.03)
    pre = minutes(sc.calendar.pre_open)
    span = (minutes(sc.calendar.close) - pre) * 60
    today = built.intraday.compute(day, span, np.array([0, span]), (900, span), pre)
    at = (minutes("09:00") - pre) * 60
    path = today.latent["HOPPER"]
    steps = np.abs(np.diff(np.log(path)))
    assert int(np.argmax(steps)) + 1 == at and steps.max() == pytest.approx(-math.log(0.8), rel=0.05)


# ---------------------------------------------------------------- keys


@pytest.mark.parametrize(
    "body, message",
    [
        ("[information]\nindicative-interval-s = 0\n", "information.indicative-interval-s: Expected `int` >= 1"),
        ("[information]\nreprice-per-hour = -1.0\n", "information.reprice-per-hour: Expected `float` >= 0"),
        ("[information]\novernight-variance = 1.0\n", "information.overnight-variance: Expected `float` < 1"),
        ('[information]\nfixing-time = "25:00"\n', "information.fixing-time: expected HH:MM"),
        ('[information]\nfixing-time = "07:00"\n', "information.fixing-time: 07:00 is not after the open"),
        ('[information]\nnews-start = "15:00"\nnews-end = "09:00"\n', "information.news-start: expected pre-open"),
        ("[information]\nbogus = 1\n", "unknown field `bogus`"),
        ("[index.generator]\nregion-sd = -0.1\n", "index.generator.region-sd: Expected `float` >= 0"),
        ('[[shocks]]\ntype = "index-move"\nday = 0\npct = 5.0\ntime = "9am"\n', "shocks[0].time: expected HH:MM"),
    ],
)
def test_bad_information_keys_name_their_path(body, message):
    base = 'name = "x"\n[[agents]]\ntype = "noise_trader"\n'
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]")):
        scn.decode(base + body)


def test_a_run_with_an_early_fixing_time_stops_publishing_then(tmp_path):
    sc = msgspec.structs.replace(
        _small(days=1, fixing_time="09:00", indicative_interval_s=600), agents=scn.load(SMALL).agents
    )
    run_scenario(sc, tmp_path / "r", progress=False)
    rows = _indicative(tmp_path / "r")
    day = sc.calendar.start
    assert max(r["ts"] for r in rows) == epoch_ns(day, minutes("09:00"))


def _indicative(run_dir):
    """indicative.parquet as rows, the time as int ns under ``ts``."""
    t = pq.read_table(run_dir / "indicative.parquet")
    rows = t.drop_columns(["time"]).to_pylist()
    for r, ns in zip(rows, t.column("time").cast("int64").to_pylist()):
        r["ts"] = ns
    return rows


def test_a_checkpoint_between_days_carries_what_is_published_not_the_days_publications(tmp_path, monkeypatch):
    from cfx.sim import checkpoint

    held = []
    save = checkpoint.save

    def spy(sim, out):
        info = sim.information
        held.append((sim.next_day, info.day, len(info._lists), len(info._tables)))
        save(sim, out)

    monkeypatch.setattr(checkpoint, "save", spy)
    run_scenario(_small(days=3), tmp_path / "run", progress=False)
    assert held == [(0, None, 0, 0), (1, None, 0, 1), (2, None, 0, 2)]  # before day 1, after days 1 and 2
    times = pq.read_table(tmp_path / "run" / "indicative.parquet").column("time").to_pylist()
    assert len({t.date() for t in times}) == 3  # every day's publications are still written


def test_the_indicative_table_index_column_is_the_one_a_list_of_names_gives(recorded, tmp_path):
    """`write_table` codes one name per publication; the column is the
    dictionary array `tables.column` makes of the names row by row (its
    dictionary in order of first appearance), so the file is the same."""
    import pyarrow as pa

    from cfx import tables

    sim = recorded[1]
    flat = [name for pub, names, _ in sim.information._tables for name in names for _ in range(len(pub))]
    sim.information.write_table(tmp_path / "indicative.parquet")
    got = pq.read_table(tmp_path / "indicative.parquet").column("index")
    assert len(set(flat)) > 1
    assert got.combine_chunks().equals(tables.column(flat, tables.STRING))
    assert got.type == pa.dictionary(pa.int32(), pa.string())
