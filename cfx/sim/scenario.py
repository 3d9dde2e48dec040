"""Scenario files: a market, its participants and what happens to it, as
TOML decoded into typed Structs.

Keys are kebab-case (``spread-ticks``), unknown keys are errors, and every
error names its path in the document (``agents[2].spread-ticks: Expected
int >= 1``) before anything runs. `load` is the one entry point.
"""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.metadata
from pathlib import Path
from typing import Annotated, Literal, Union

import msgspec
from msgspec import Meta

from cfx.agents import AGENT_SPECS, REGISTRY
from cfx.clearing import ClearingConfig
from cfx import inputs
from cfx.errors import InputError, from_validation
from cfx.index import IndexConfig
from cfx.products import HOPPER, Basket
from cfx.sim.clock import TIME_OF_DAY as _TIME
from cfx.sim.clock import minutes
from cfx.types import StpMode
from cfx.units import CONTRACT_UNIT, micro

FIRST_DATE = dt.date(1971, 1, 1)  # the clock is int64 ns since 1970: runs fit well inside
LAST_DATE = dt.date(2199, 12, 31)
MAX_AGENTS = 10_000  # agents in one scenario, all entries' counts together (memory grows with them)
Seed = Annotated[int, Meta(ge=0, le=2**63 - 1)]


class _Section(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="kebab"):
    pass


class Calendar(_Section):
    """Trading days and the daily session (UTC): orders collect unmatched
    from ``pre-open``, the opening call auction uncrosses them at ``open``,
    continuous trading runs to ``close``. The settlement window is
    [``settlement-start``, ``close``): its trades set the daily settlement VWAP."""

    start: dt.date = dt.date(2027, 1, 4)
    days: Annotated[int, Meta(ge=1, le=2_000)] = 20
    pre_open: str = "07:45"
    open: str = "08:00"
    settlement_start: str = "15:45"
    close: str = "16:00"

    def __post_init__(self) -> None:
        p, o, s, c = (minutes(self.pre_open), minutes(self.open), minutes(self.settlement_start), minutes(self.close))
        if not p < o < s < c:
            raise ValueError("expected pre-open < open < settlement-start < close")
        if not FIRST_DATE <= self.start <= LAST_DATE:
            raise ValueError(f"start: {self.start} is outside {FIRST_DATE}..{LAST_DATE}")


class Perpetual(_Section):
    """A perpetual future's mark and funding (cfx/sim/perpetual.py, in the
    form Binance and BitMEX publish; rates as percentages, turned into
    integer 1e-8 units by rounding half to even once at listing).

    Every ``sample-s`` seconds of the session the premium index is sampled
    from the book's impact bid and ask (the prices ``impact-lots`` lots
    would fill at) against the published index, and the basis (book mid −
    index, ticks); the mark is the index plus the mean of the last
    ``mark-samples`` basis samples, within ``mark-clamp-pct`` of the index.
    Funding is paid at each ``funding-interval-min`` minutes from the open
    that falls inside the session (time outside the session earns none):
    rate = P + clamp(I − P, ±``clamp-pct``), capped at ±``cap-pct``, with P
    the interval's mean premium and I ``interest-pct`` per interval
    (Binance's 0.01 % per 8 h is 0.00125 % per hour)."""

    funding_interval_min: Annotated[int, Meta(ge=1, le=1440)] = 60
    interest_pct: Annotated[float, Meta(ge=-1.0, le=1.0)] = 0.00125
    clamp_pct: Annotated[float, Meta(ge=0.0, le=10.0)] = 0.05
    cap_pct: Annotated[float, Meta(ge=0.0, le=10.0)] = 0.75
    sample_s: Annotated[int, Meta(ge=1, le=3600)] = 60
    mark_samples: Annotated[int, Meta(ge=1, le=1440)] = 30
    mark_clamp_pct: Annotated[float, Meta(ge=0.0, le=50.0)] = 1.0
    impact_lots: Annotated[int, Meta(ge=1, le=100_000)] = 5


class Products(_Section):
    """What is listed: monthly futures on each basket, ``months-ahead``
    consecutive months, in contracts of ``contract-unit`` GPU-hours with a
    tick of ``tick-usd`` per GPU-hour. Final settlement: ``index`` (the
    default) cash-settles on the basket index by ``settlement`` (the
    arithmetic mean of the month's fixings, or a time-weighted mean over
    the last ``window-days``); ``vwap_window`` on the futures' own VWAP in
    the last day's settlement window (what a squeeze attacks).
    ``auction-tie-break``: how a call auction chooses among prices that tie
    on volume and imbalance (cfx/auction.py): ``reference`` (nearest the
    reference price, then the lower) or ``cme`` (CME's market-pressure step
    first: a surplus of buyers at every tied price takes the highest).
    ``matching``: ``continuous`` (price-time matching, the default) or
    ``batch``: periodic batch auctions, every ``batch-interval-ms``
    milliseconds during trading hours, each an uncross by the call auction's
    rule (cfx/batch.py: boundaries, and the order types refused).
    ``listing``: ``monthly`` futures (the default), a ``perpetual`` per
    basket instead (``HOP-PERP``: no expiry, funded and marked as
    ``[products.perpetual]`` says), or ``both`` (the perpetual after the
    monthlies: agents reach it with the ``perp`` series selector)."""

    baskets: Annotated[list[Basket], Meta(min_length=1)] = msgspec.field(default_factory=lambda: [HOPPER])
    months_ahead: Annotated[int, Meta(ge=1, le=24)] = 2
    contract_unit: Annotated[int, Meta(gt=0, le=1_000_000)] = CONTRACT_UNIT
    tick_usd: Annotated[float, Meta(ge=0.000001, le=10_000)] = 0.01  # rounded to whole micro-dollars
    settlement: Literal["monthly_average", "twap_window"] = "monthly_average"
    window_days: Annotated[int, Meta(ge=1, le=23)] = 5
    final_settlement: Literal["index", "vwap_window"] = "index"
    auction_tie_break: Literal["reference", "cme"] = "reference"
    matching: Literal["continuous", "batch"] = "continuous"
    batch_interval_ms: Annotated[int, Meta(ge=1, le=3_600_000)] = 1_000
    listing: Literal["monthly", "perpetual", "both"] = "monthly"
    perpetual: Perpetual = msgspec.field(default_factory=Perpetual)


class Liquidation(_Section):
    """How the clearing house closes out a defaulter (cfx/sim/liquidation.py).
    ``style = "book"`` (the default): through the book, from
    ``start-after-open-s`` after the next open, one IOC slice of at most
    ``slice-lots`` per position every ``interval-s``, priced ``limit-ticks``
    through the touch and inside the band. ``style = "auction"`` (CME's
    default auction): at that time each position is offered whole to the
    other members that make markets; each bids its expected final settlement
    less ``auction-discount-ticks``; the best bid wins and the position
    crosses at that price (what is left goes through the book)."""

    style: Literal["book", "auction"] = "book"
    auction_discount_ticks: Annotated[int, Meta(ge=0)] = 5
    start_after_open_s: Annotated[int, Meta(ge=0, le=86_400)] = 300
    interval_s: Annotated[int, Meta(gt=0, le=86_400)] = 60
    slice_lots: Annotated[int, Meta(gt=0)] = 10
    limit_ticks: Annotated[int, Meta(ge=0)] = 5


class Rules(_Section):
    """Market rules. ``band-pct``: orders priced more than this percentage
    away from the last settlement are rejected (0 = no band); with
    ``band-moving`` the band follows the last trade price instead. Dynamic
    limits (as CME's daily limits with expansion): ``band-hits`` orders in a
    row refused beyond the same edge are a limit hit; the band widens by
    ``band-expand-pct`` percent of its half-width and the series halts
    ``band-halt-s`` seconds to cool off, then reopens by auction (at most
    ``band-max-expansions`` times a day; 0 = off). A series that has not
    traded for ``band-stale-s`` seconds (0 = never) has its band re-centred
    on the previous settlement moved by the change of its expected final
    settlement (the index's), so a stale book cannot pin it away from the
    index. Velocity
    circuit breaker: a trade more than ``breaker-pct`` percent away from the
    price ``breaker-window-s`` seconds earlier halts the series for
    ``breaker-halt-s`` seconds, then a call auction reopens it (0 = off).
    ``stp-default`` applies to agents that do not set their own."""

    band_pct: Annotated[float, Meta(ge=0, le=100)] = 15.0
    band_moving: bool = False
    band_expand_pct: Annotated[int, Meta(ge=0, le=1_000)] = 50
    band_hits: Annotated[int, Meta(ge=1)] = 3
    band_halt_s: Annotated[int, Meta(gt=0, le=3_600)] = 120
    band_max_expansions: Annotated[int, Meta(ge=0, le=20)] = 2
    band_stale_s: Annotated[int, Meta(ge=0, le=86_400)] = 900
    breaker_pct: Annotated[float, Meta(ge=0, le=100)] = 5.0
    breaker_window_s: Annotated[int, Meta(gt=0)] = 60
    breaker_halt_s: Annotated[int, Meta(gt=0)] = 120
    max_order_qty: Annotated[int, Meta(gt=0, le=1_000_000_000)] = 5_000
    stp_default: StpMode = StpMode.CANCEL_AGGRESSING
    clearing: ClearingConfig = msgspec.field(default_factory=ClearingConfig)
    liquidation: Liquidation = msgspec.field(default_factory=Liquidation)


class IndexMove(_Section, tag="index-move", tag_field="type"):
    """The basket indices move by ``pct`` percent, spread evenly (in log)
    over ``over-days`` business days from ``day`` (0 = the first day): a
    jump when ``over-days`` is 1, a crash or a rally when longer. The move
    applies to the SKUs of ``baskets`` (default: every listed basket), so
    their SKU and SKU x region indices move with them; each day's step is a
    jump of the latent intraday value at ``time`` (HH:MM; default a random
    time of the session)."""

    day: Annotated[int, Meta(ge=0)]
    pct: Annotated[float, Meta(gt=-100)]
    over_days: Annotated[int, Meta(ge=1)] = 1
    baskets: list[str] | None = None
    time: str | None = None


class KillSwitch(_Section, tag="kill-switch", tag_field="type"):
    """Every series halts at ``time`` on ``day`` for ``minutes``, then each
    reopens with a call auction."""

    day: Annotated[int, Meta(ge=0)]
    time: str = "12:00"
    minutes: Annotated[int, Meta(gt=0)] = 30


class MarketMakerWithdrawal(_Section, tag="mm-withdrawal", tag_field="type"):
    """Market makers stop quoting at ``time`` on ``day`` (cancelling their
    orders) for ``minutes``. ``fraction`` of them (the first ones) withdraw."""

    day: Annotated[int, Meta(ge=0)]
    time: str = "10:00"
    minutes: Annotated[int, Meta(gt=0)] = 60
    fraction: Annotated[float, Meta(gt=0, le=1)] = 1.0


class FatFinger(_Section, tag="fat-finger", tag_field="type"):
    """One mistaken market order of ``qty`` lots at ``time`` on ``day``, by a
    member account of its own (collateral ``collateral-usd``)."""

    day: Annotated[int, Meta(ge=0)]
    time: str = "11:00"
    side: Literal["buy", "sell"] = "sell"
    qty: Annotated[int, Meta(gt=0)] = 500
    collateral_usd: Annotated[float, Meta(ge=0, le=1e12)] = 5_000_000.0


class MemberDefault(_Section, tag="member-default", tag_field="type"):
    """The member running agent ``agent`` (its type) number ``index`` stops
    meeting margin calls from ``day`` on; a loss-making position follows
    from its ``qty``-lot market order at ``time``."""

    day: Annotated[int, Meta(ge=0)]
    agent: str = "noise_trader"
    index: Annotated[int, Meta(ge=0)] = 0
    time: str = "12:00"
    side: Literal["buy", "sell"] = "buy"
    qty: Annotated[int, Meta(gt=0)] = 200


Shock = IndexMove | MarketMakerWithdrawal | FatFinger | MemberDefault | KillSwitch


class Information(_Section):
    """The intraday index (with the seeded generator; a quotes CSV has no
    intraday path, so its indicative value is the last fixing). Between two
    fixings each SKU's latent value is a Brownian bridge with the day's
    jumps; ``overnight-variance`` of a day's diffusive variance accrues
    before the pre-open. Each constituent quote reprices
    ``reprice-per-hour`` times an hour on average (Poisson) to the latent
    value times its basis. An indicative value of every index is published
    every ``indicative-interval-s`` seconds from the pre-open to
    ``fixing-time`` (HH:MM; default the close), when the official fixing is
    taken. Jumps without a time fall uniformly in [``news-start``,
    ``news-end``] (default the open and the fixing time)."""

    indicative_interval_s: Annotated[int, Meta(ge=1, le=3_600)] = 60
    fixing_time: str | None = None
    reprice_per_hour: Annotated[float, Meta(ge=0, le=3_600)] = 4.0
    overnight_variance: Annotated[float, Meta(ge=0, lt=1)] = 0.25
    news_start: str | None = None
    news_end: str | None = None


class Output(_Section):
    """What a run writes (docs/outputs.md). ``book-top-interval-s``: seconds
    between top-of-book snapshots. ``journal``: write the command journal
    (false: the run can be neither replayed with `cfx replay` nor resumed
    with `cfx run --resume`, and no day checkpoints are written). ``events``:
    the event tables kept: ``full`` (events.parquet and trades.parquet),
    ``trades-only`` (trades.parquet: no order, book-level or clearing
    events, so the report has no depth heatmap and `Run.events` refuses)
    or ``none`` (neither). The summary and the run hash do not depend on
    either key; sweeps default to ``journal = false`` and
    ``events = "trades-only"`` unless the base scenario or the sweep's
    ``[set]`` says otherwise. ``report``: `cfx run` writes report.html at
    the end (about 5 MB or more: plotly.js is inlined); when the key is
    absent, only a run that keeps its full event log gets one, since a
    compact run is asked for to be small (`cfx report RUN` writes it later)."""

    book_top_interval_s: Annotated[int, Meta(gt=0)] = 60
    journal: bool = True
    events: Literal["full", "trades-only", "none"] = "full"
    report: bool | None = None

    def writes_report(self) -> bool:
        """Whether `cfx run` writes report.html (``report``, else only for full events)."""
        return self.events == "full" if self.report is None else self.report


AgentEntry = Union[AGENT_SPECS]  # one [[agents]] entry: any registered agent type, by its "type" key


class Scenario(_Section):
    """A whole scenario file."""

    name: str
    question: str = ""
    seed: Seed = 1
    calendar: Calendar = msgspec.field(default_factory=Calendar)
    index: IndexConfig = msgspec.field(default_factory=IndexConfig)
    products: Products = msgspec.field(default_factory=Products)
    rules: Rules = msgspec.field(default_factory=Rules)
    agents: list[AgentEntry] = msgspec.field(default_factory=list)
    shocks: list[Shock] = msgspec.field(default_factory=list)
    information: Information = msgspec.field(default_factory=Information)
    output: Output = msgspec.field(default_factory=Output)


_TYPES: dict[tuple[type, ...], type[Scenario]] = {}


def scenario_type() -> type[Scenario]:
    """The `Scenario` Struct whose ``agents`` accept every agent type
    registered now: the built-in ones, those of modules imported since
    (``cfx run --plugin``) and those of installed packages that declare a
    ``cfx.agents`` entry point (loaded here, once)."""
    load_entry_point_agents()
    specs = tuple(REGISTRY)
    if set(specs) <= set(AGENT_SPECS):
        return Scenario
    cls = _TYPES.get(specs)
    if cls is None:
        entry = Union[specs]  # type: ignore[valid-type]
        cls = msgspec.defstruct(
            "Scenario",
            [("agents", list[entry], msgspec.field(default_factory=list))],
            bases=(Scenario,),
            kw_only=True,
            forbid_unknown_fields=True,
            rename="kebab",
        )
        _TYPES[specs] = cls
    return cls


_ENTRY_POINTS_LOADED = False


def load_entry_point_agents() -> None:
    """Import the modules installed packages name in the ``cfx.agents``
    entry-point group, so their ``@register``-ed agents can be named."""
    global _ENTRY_POINTS_LOADED
    if _ENTRY_POINTS_LOADED:
        return
    _ENTRY_POINTS_LOADED = True
    for ep in importlib.metadata.entry_points(group="cfx.agents"):
        try:
            ep.load()
        except Exception as e:  # a broken plugin is the user's input: name it
            raise InputError(f"entry point cfx.agents:{ep.name} ({ep.value}): cannot load: {e}") from None


def import_plugin(module: str) -> None:
    """Import a user's module (``--plugin mymodule``) so its registered agents can be named."""
    try:
        importlib.import_module(module)
    except Exception as e:
        raise InputError(f"--plugin {module}: cannot import: {type(e).__name__}: {e}") from None


def decode(raw: bytes | str, source: str = "<scenario>") -> Scenario:
    """A `Scenario` from TOML text; any error names ``source`` and the path."""
    if isinstance(raw, bytes):
        raw = inputs.decode(raw, source)
    try:
        scenario = msgspec.toml.decode(raw, type=scenario_type())
    except (msgspec.ValidationError, msgspec.DecodeError) as e:
        raise from_validation(source, e) from None
    problems = _cross_checks(scenario)
    if problems:
        raise InputError(f"{source}: {problems[0]}")
    return scenario


def convert(builtins: dict, source: str = "<scenario>") -> Scenario:
    """A `Scenario` from TOML-shaped builtins (overrides, sweeps), checked
    exactly as `decode` checks a file."""
    try:
        scenario = msgspec.convert(builtins, type=scenario_type())
    except msgspec.ValidationError as e:
        raise from_validation(source, e) from None
    problems = _cross_checks(scenario)
    if problems:
        raise InputError(f"{source}: {problems[0]}")
    return scenario


def load(path: str | Path) -> Scenario:
    path = Path(path)
    scenario = decode(inputs.read_text(path, "scenario"), str(path))
    quotes = scenario.index.quotes
    if quotes is not None and not Path(quotes).is_absolute():
        scenario.index = msgspec.structs.replace(scenario.index, quotes=str(path.parent / quotes))
    return scenario


def with_seed(scenario: Scenario, seed: int, source: str = "--seed") -> Scenario:
    """``scenario`` with another seed, checked like the file's own."""
    try:
        msgspec.convert(seed, type=Seed)
    except msgspec.ValidationError as e:
        raise from_validation(source, e) from None
    return msgspec.structs.replace(scenario, seed=seed)


def _cross_checks(s: Scenario) -> list[str]:
    """Checks that span sections, each naming the offending path."""
    out = []
    names = {b.name for b in s.products.baskets}
    for i, shock in enumerate(s.shocks):
        if shock.day >= s.calendar.days:
            out.append(f"shocks[{i}].day: {shock.day} is past the last day ({s.calendar.days - 1})")
        for field in ("time",):
            value = getattr(shock, field, None)
            if value is not None and _TIME.match(value) is None:
                out.append(f"shocks[{i}].{field}: expected HH:MM, got {value!r}")
        if isinstance(shock, IndexMove) and shock.baskets:
            for b in shock.baskets:
                if b not in names:
                    out.append(f"shocks[{i}].baskets: unknown basket {b!r}")
        if isinstance(shock, MarketMakerWithdrawal) and _TIME.match(shock.time):
            resume = minutes(shock.time) + shock.minutes
            if resume >= minutes(s.calendar.close):
                out.append(
                    f"shocks[{i}].minutes: the makers would resume at {resume // 60:02d}:{resume % 60:02d},"
                    f" not before the close ({s.calendar.close})"
                )
        if isinstance(shock, MemberDefault):
            tags = [type(a).__struct_config__.tag for a in s.agents]
            if tags.count(shock.agent) == 0:
                out.append(f"shocks[{i}].agent: no agents of type {shock.agent!r} in this scenario")
            else:
                n = sum(a.count for a in s.agents if type(a).__struct_config__.tag == shock.agent)
                if shock.index >= n:
                    out.append(f"shocks[{i}].index: only {n} agents of type {shock.agent!r}")
    out.extend(_information_checks(s))
    if not s.agents:
        out.append("agents: a scenario needs at least one agent")
    total = sum(a.count for a in s.agents)
    if total > MAX_AGENTS:
        out.append(f"agents: {total:,} agents in all, more than the {MAX_AGENTS:,} a scenario may have")
    fund = s.rules.clearing.guarantee_fund_contribution
    for i, a in enumerate(s.agents):
        if micro(a.collateral_usd) < fund:
            out.append(
                f"agents[{i}].collateral-usd: {a.collateral_usd} is below "
                f"rules.clearing.guarantee-fund-contribution ({fund / 1e6} USD)"
            )
    for i, shock in enumerate(s.shocks):
        if isinstance(shock, FatFinger) and micro(shock.collateral_usd) < fund:
            out.append(
                f"shocks[{i}].collateral-usd: {shock.collateral_usd} is below "
                f"rules.clearing.guarantee-fund-contribution ({fund / 1e6} USD)"
            )
    return out


def fixing_minute(s: Scenario) -> int:
    """The official fixing's minute of the day (default: the close)."""
    t = s.information.fixing_time
    return minutes(t if t is not None else s.calendar.close)


def _information_checks(s: Scenario) -> list[str]:
    info, cal = s.information, s.calendar
    out = []
    for key in ("fixing_time", "news_start", "news_end"):
        value = getattr(info, key)
        if value is not None and _TIME.match(value) is None:
            out.append(f"information.{key.replace('_', '-')}: expected HH:MM, got {value!r}")
    if out:
        return out
    fix = fixing_minute(s)
    if not minutes(cal.open) < fix <= minutes(cal.close):
        out.append(f"information.fixing-time: {info.fixing_time} is not after the open and at or before the close")
    start = minutes(info.news_start) if info.news_start else minutes(cal.open)
    end = minutes(info.news_end) if info.news_end else fix
    if not minutes(cal.pre_open) <= start <= end <= fix:
        out.append("information.news-start: expected pre-open <= news-start <= news-end <= fixing-time")
    return out
