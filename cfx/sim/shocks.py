"""What a scenario does to its market at given times.

- ``index-move``: jumps of the latent index of its baskets' SKUs (`cfx.sim.run.index_move_jumps`;
  with a quotes CSV it scales the fixings instead, `apply_index_moves`);
- ``mm-withdrawal``: market makers cancel everything and stop quoting for a while;
- ``fat-finger``: one mistaken market order from an account of its own;
- ``member-default``: an agent stops trading (and meeting margin calls)
  after taking a position; clearing then calls and, if unmet, defaults it;
- ``kill-switch``: every series halts for a while, then reopens by auction.

Shocks act only through the simulation's public face: `Simulation.at` puts
an action on the clock, `Simulation.send` journals and applies a command
as any other, and an agent is withdrawn when it is `Withdrawable`.
"""

from __future__ import annotations

import datetime as dt
import math
from functools import partial
from typing import TYPE_CHECKING, Any

from cfx import logs
from cfx.agents.base import Withdrawable
from cfx.products import first_business_days
from cfx.sim.clock import epoch_ns, minutes
from cfx.sim.scenario import FatFinger, IndexMove, KillSwitch, MarketMakerWithdrawal, MemberDefault
from cfx.types import OrderKind, Side, SubmitOrder, TimeInForce
from cfx.venue import KillSwitch as HaltAll
from cfx.venue import OpenAccount
from cfx.units import micro

if TYPE_CHECKING:
    from cfx.sim.loop import Simulation

log = logs.get_logger("cfx.sim")
SPECIAL_ACCOUNT = 1_000_000  # accounts the scenario itself trades from (fat finger)


def apply_index_moves(
    fixings: dict[str, dict[dt.date, int]], days: list[dt.date], moves: list[IndexMove], baskets: list
) -> None:
    """Scale the fixings in place (a quotes-CSV feed has no intraday path to
    move): each move's full factor applies from the end of its window on, a
    geometric part of it inside the window, to its baskets and their SKU
    and SKU x region indices."""
    for move in moves:
        factor = 1 + move.pct / 100
        start = days[move.day]
        window = days[move.day : move.day + move.over_days]
        chosen = [b for b in baskets if not move.baskets or b.name in move.baskets]
        names = {b.name for b in chosen}
        skus = {s for b in chosen for s in b.weights}
        for name, series in fixings.items():
            if name not in names and name.split(".")[0] not in skus:
                continue
            for day in sorted(series):
                if day < start:
                    continue
                if day in window:
                    f = factor ** ((window.index(day) + 1) / len(window))
                else:
                    f = factor
                series[day] = max(1, round(series[day] * f))


def open_accounts(sim: "Simulation") -> None:
    """Open the accounts scenario shocks trade from (before the first day)."""
    for i, shock in enumerate(sim.sc.shocks):
        if isinstance(shock, FatFinger):
            sim.send(OpenAccount(0, _fat_finger_account(i), micro(shock.collateral_usd)))


def _fat_finger_account(i: int) -> int:
    """The account of the scenario's i-th shock (above every agent's)."""
    return SPECIAL_ACCOUNT + i


def schedule(sim: "Simulation", shock: Any, day: dt.date) -> None:
    """Put a shock's actions on the simulation clock for ``day`` (as
    partials of the functions below, so a checkpoint can pickle them)."""
    if isinstance(shock, IndexMove):
        log.info("shock", kind="index-move", day=str(day), pct=shock.pct, over_days=shock.over_days)
        return
    at = epoch_ns(day, minutes(shock.time))
    if isinstance(shock, MarketMakerWithdrawal):
        makers = [p for p in sim.participants if isinstance(p.agent, Withdrawable)]
        chosen = makers[: max(1, math.ceil(len(makers) * shock.fraction))] if makers else []
        sim.at(at, partial(_withdraw, chosen, day, shock.minutes))
        sim.at(at + shock.minutes * 60 * 1_000_000_000, partial(_resume, chosen))
    elif isinstance(shock, FatFinger):
        sim.at(at, partial(_fat_finger, sim, shock, sim.sc.shocks.index(shock), day))
    elif isinstance(shock, KillSwitch):
        sim.at(at, partial(_kill, sim, shock, day, at + shock.minutes * 60 * 1_000_000_000))
    elif isinstance(shock, MemberDefault):
        members = [p for p in sim.participants if type(p.spec).__struct_config__.tag == shock.agent]
        sim.at(at, partial(_default, sim, shock, members[shock.index], day))


def _withdraw(chosen: list, day: dt.date, minutes_off: int) -> None:
    log.info("shock", kind="mm-withdrawal", day=str(day), makers=len(chosen), minutes=minutes_off)
    for p in chosen:
        p.agent.withdraw(p.context())


def _resume(chosen: list) -> None:
    for p in chosen:
        p.agent.resume(p.context())


def _fat_finger(sim: "Simulation", shock: FatFinger, index: int, day: dt.date) -> None:
    series = next(iter(sim.series))
    side = Side.BUY if shock.side == "buy" else Side.SELL
    log.info("shock", kind="fat-finger", day=str(day), series=series, side=shock.side, qty=shock.qty)
    sim.send(
        SubmitOrder(
            sim.now,
            series,
            sim.next_order_id(),
            _fat_finger_account(index),
            side,
            shock.qty,
            0,
            OrderKind.MARKET,
            TimeInForce.IOC,
        )
    )


def _kill(sim: "Simulation", shock: KillSwitch, day: dt.date, until: int) -> None:
    log.info("shock", kind="kill-switch", day=str(day), minutes=shock.minutes)
    sim.send(HaltAll(sim.now, until))
    sim.wake_venue_at(until)


def _default(sim: "Simulation", shock: MemberDefault, p: Any, day: dt.date) -> None:
    series = next(iter(sim.series))
    side = Side.BUY if shock.side == "buy" else Side.SELL
    log.info("shock", kind="member-default", day=str(day), account=p.account, series=series, qty=shock.qty)
    p.active = False
    p.ctx.cancel_all()
    p.ctx.submit(series, side, shock.qty, kind=OrderKind.MARKET, tif=TimeInForce.IOC)


def timeline(sc: Any) -> list[dict[str, Any]]:
    """Each shock of the scenario as when it acted, for summary.json and the
    report's marks: ``type``, ``day`` (ISO), ``start_ns``/``end_ns`` (equal
    for an instant; an index move without a time spans its days' sessions,
    its jump falling at a random time in them) and a short ``label``."""
    days = first_business_days(sc.calendar.start, sc.calendar.days)
    open_, close = minutes(sc.calendar.open), minutes(sc.calendar.close)
    out = []
    for shock in sc.shocks:
        day = days[shock.day]
        if isinstance(shock, IndexMove):
            last = days[min(shock.day + shock.over_days, len(days)) - 1]
            start = epoch_ns(day, minutes(shock.time) if shock.time else open_)
            end = start if shock.time and shock.over_days == 1 else epoch_ns(last, close)
            label = f"index move {shock.pct:+g}%" + (f" over {shock.over_days} days" if shock.over_days > 1 else "")
        else:
            start = end = epoch_ns(day, minutes(shock.time))
            if isinstance(shock, (KillSwitch, MarketMakerWithdrawal)):
                end = start + shock.minutes * 60 * 1_000_000_000
            label = {
                KillSwitch: lambda s: f"kill switch {s.minutes} min",
                MarketMakerWithdrawal: lambda s: f"market makers withdraw {s.minutes} min",
                FatFinger: lambda s: f"fat finger: market {s.side} {s.qty}",
                MemberDefault: lambda s: f"member default ({s.agent} {s.index})",
            }[type(shock)](shock)
        out.append(
            {
                "type": type(shock).__struct_config__.tag,
                "day": day.isoformat(),
                "start_ns": start,
                "end_ns": end,
                "label": label,
            }
        )
    return out
