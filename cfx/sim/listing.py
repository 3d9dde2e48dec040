"""How a scenario's rules become the venue's listing commands.

A series listed for the first time gets a `ListContract` (its price band
around the reference price, the dynamic price limits, the auction tie
break) and a `ConfigureSession` (the day's session times, the circuit
breaker, the batch interval); a listed series whose band moves (a new
settlement, a stale book's review) gets a `ListSeries`. The loop decides
when; this module says what the commands carry.
"""

from __future__ import annotations

from cfx.protections import band_limits
from cfx.products import Series
from cfx.sim.clock import MINUTE_NS, NS, minutes
from cfx.sim.scenario import Products, Rules, Scenario
from cfx.types import ListSeries
from cfx.units import MS
from cfx.venue import ConfigureSession, ListContract


def batch_interval_ns(products: Products) -> int:
    """The periodic batch auctions' interval (0: continuous matching)."""
    return products.batch_interval_ms * MS if products.matching == "batch" else 0


def band(rules: Rules, reference: int) -> tuple[int | None, int | None]:
    """The static price band around ``reference`` (ticks; None: no band)."""
    return band_limits(reference, rules.band_pct) if rules.band_pct else (None, None)


def series_rules(sc: Scenario, centre: int) -> dict:
    """The fields `ListContract` and `ListSeries` share: the largest order,
    the band around ``centre`` and its dynamic limits, the auction tie break."""
    rules = sc.rules
    low, high = band(rules, centre)
    return dict(
        max_qty=rules.max_order_qty,
        band_low=low,
        band_high=high,
        band_moving=rules.band_moving,
        auction_tie_break=sc.products.auction_tie_break,
        band_expand_pct=round(rules.band_expand_pct),
        band_hits=rules.band_hits,
        band_halt_ns=rules.band_halt_s * NS,
        band_max_expansions=rules.band_max_expansions,
    )


def list_contract(sc: Scenario, s: Series, reference: int, ts: int) -> ListContract:
    """List ``s`` for the first time, its band around ``reference``."""
    return ListContract(ts=ts, spec=s, reference_price=reference, **series_rules(sc, reference))


def relist(sc: Scenario, symbol: str, centre: int, settlement: int, ts: int) -> ListSeries:
    """Re-list a series' rules: its band around ``centre``, the opening
    call's reference ``settlement``."""
    return ListSeries(symbol=symbol, ts=ts, reference=settlement, **series_rules(sc, centre))


def session(sc: Scenario, symbol: str, reference: int, ts: int) -> ConfigureSession:
    """The series' trading session: the day's times, its circuit breaker
    (``breaker-pct`` of ``reference``) and the batch interval."""
    cal, rules = sc.calendar, sc.rules
    ticks = max(1, round(reference * rules.breaker_pct / 100)) if rules.breaker_pct else 0
    return ConfigureSession(
        ts=ts,
        series=symbol,
        pre_open=minutes(cal.pre_open) * MINUTE_NS,
        open=minutes(cal.open) * MINUTE_NS,
        settlement_start=minutes(cal.settlement_start) * MINUTE_NS,
        close=minutes(cal.close) * MINUTE_NS,
        breaker_ticks=ticks,
        breaker_window_ns=rules.breaker_window_s * NS,
        breaker_halt_ns=rules.breaker_halt_s * NS,
        batch_interval_ns=batch_interval_ns(sc.products),
    )
