"""The agents' hot methods, rewritten for speed, against their straightforward
forms: the same decisions, the same calls on the context, the same draws.

Each reference below is the method as it was written before it was tuned
(kept here, not in cfx, so the two cannot drift together); a seeded random
state is run through both and everything observable is compared.
"""

from __future__ import annotations

import copy
import datetime as dt
import random

import numpy as np
import pytest

from cfx.agents.base import MAX_DELAY_NS, Latency, Quote
from cfx.agents.execution import Executor
from cfx.agents.otc_dealer import OtcDealer, OtcDealerSpec
from cfx.agents.noise_trader import NoiseTrader, NoiseTraderSpec
from cfx.sim.participant import JITTER_BLOCK, Participant
from cfx.types import Side

BUY, SELL = Side.BUY, Side.SELL
SERIES = ["HOP-F27", "HOP-G27", "HOP-H27", "HOP-J27", "HOP-PERP"]


class _Otc:
    def __init__(self, today: dt.date) -> None:
        self.today = today


class _Ctx:
    """Just what `OtcDealer._hedge` and an `Executor` ask of a context; logs every order call."""

    def __init__(self, seed: int, listed: list[str], positions: dict[str, int], expiry: dict[str, int]) -> None:
        self.now = 1_000_000_000_000
        self.rng = np.random.default_rng(seed)
        self.otc = _Otc(dt.date(2027, 1, 4))
        self._listed, self._positions, self._expiry = listed, positions, expiry
        self.calls: list[tuple] = []
        self._oid = 0

    def listed(self) -> list[str]:
        return list(self._listed)

    def position(self, series: str) -> int:
        return self._positions.get(series, 0)

    def days_to_expiry(self, series: str) -> int:
        return self._expiry.get(series, 30)

    def quote(self, series: str) -> Quote:
        return Quote(1000, 5, 1002, 5, 1001)

    def submit(self, series, side, qty, price=0, **kw) -> int:
        self._oid += 1
        self.calls.append(("submit", series, side, qty, price, tuple(sorted(kw.items()))))
        return self._oid

    def cancel(self, oid) -> None:
        self.calls.append(("cancel", oid))

    def modify(self, oid, price, qty) -> None:
        self.calls.append(("modify", oid, price, qty))


def reference_hedge(self: OtcDealer, ctx) -> int | None:
    """`OtcDealer._hedge` as first written."""
    spec = self.spec
    targets = self.hedge_targets(ctx)
    listed = ctx.listed()
    wake = None
    for s in sorted(set(targets) | set(self.executors) | set(self._held)):
        if s not in listed:
            continue
        live = [e for e in self.executors.get(s, ()) if not e.done]
        self.executors[s] = live
        expiring = s not in targets and self._is_expiring(ctx, s)
        target = targets.get(s, 0)
        pos = ctx.position(s)
        if pos:
            self._held.add(s)
        gap = target - pos - self._pending(s)
        if not live and abs(gap) >= (1 if expiring and target == 0 else spec.hedge_threshold_lots):
            ex = Executor(
                s,
                BUY if gap > 0 else SELL,
                abs(gap),
                start_ns=ctx.now,
                end_ns=ctx.now + spec.hedge_horizon_ns,
                max_child_lots=spec.max_child_lots,
                urgency=spec.urgency,
            )
            live.append(ex)
        for ex in live:
            d = ex.on_wakeup(ctx)
            if d is not None:
                wake = d if wake is None else min(wake, d)
    return wake


def _executor_state(ex: Executor) -> tuple:
    return tuple(getattr(ex, name) for name in Executor.__slots__)


def _random_dealer(r: random.Random, now: int) -> tuple[OtcDealer, dict[str, int]]:
    dealer = OtcDealer(OtcDealerSpec(hedge_threshold_lots=r.randint(1, 4), roll_days=r.randint(0, 3)))
    dealer.hedge_root, dealer.basket = "HOP", "HOPPER"
    targets = {s: r.randint(-40, 40) for s in r.sample(SERIES, r.randint(0, 3))}
    dealer.hedge_targets = lambda ctx: targets  # the targets are tested on their own (tests/test_otc.py)
    for s in r.sample(SERIES, r.randint(0, 3)):
        live = []
        for _ in range(r.randint(0, 2)):
            ex = Executor(
                s,
                r.choice((BUY, SELL)),
                r.randint(1, 30),
                start_ns=now - 60_000_000_000,
                end_ns=now + r.randint(-1, 3) * 600_000_000_000,
            )
            ex.filled = r.randint(0, ex.qty)
            ex.done = r.random() < 0.3 or ex.filled == ex.qty
            live.append(ex)
        dealer.executors[s] = live
    dealer._held = set(r.sample(SERIES, r.randint(0, 2)))
    positions = {s: r.randint(-30, 30) for s in r.sample(SERIES, r.randint(0, 4))}
    return dealer, positions


@pytest.mark.parametrize("seed", range(300))
def test_otc_dealer_hedge_makes_the_reference_decisions(seed):
    r = random.Random(seed)
    listed = r.sample(SERIES, r.randint(1, len(SERIES)))
    expiry = {s: r.randint(0, 5) for s in SERIES}
    ctx_new = _Ctx(seed, listed, {}, expiry)
    dealer, positions = _random_dealer(r, ctx_new.now)
    ctx_new._positions = positions
    ctx_ref = _Ctx(seed, listed, dict(positions), expiry)
    twin = copy.deepcopy(dealer)
    twin.hedge_targets = dealer.hedge_targets

    assert dealer._hedge(ctx_new) == reference_hedge(twin, ctx_ref)
    assert ctx_new.calls == ctx_ref.calls
    assert ctx_new.rng.random() == ctx_ref.rng.random()  # the same draws were taken
    assert dealer._held == twin._held
    assert {s: [_executor_state(e) for e in v] for s, v in dealer.executors.items()} == {
        s: [_executor_state(e) for e in v] for s, v in twin.executors.items()
    }


def reference_jitter_block(rng: np.random.Generator, jitter_ns: int, sigma: float) -> list[int]:
    """`Participant.delay`'s block as first written: the draws to pop, last first."""
    draws = np.minimum(jitter_ns * rng.lognormal(0.0, sigma, JITTER_BLOCK), MAX_DELAY_NS)
    return draws.astype(np.int64).tolist()[::-1]


@pytest.mark.parametrize("seed", range(40))
def test_participant_jitter_blocks_are_the_reference_draws(seed):
    r = random.Random(seed)
    jitter_ns = r.choice((1, 10_000, 500_000, 10**9, 10**12, MAX_DELAY_NS))
    sigma = r.choice((0.0, 0.01, 0.5, 3.0))  # with jitter_ns = MAX_DELAY_NS about half the draws are capped
    spec = NoiseTraderSpec(latency=Latency(entry_ns=1_000, market_data_ns=2_000, jitter_ns=jitter_ns, sigma=sigma))
    p = Participant(NoiseTrader(spec), 7, spec, np.random.default_rng(seed))
    ref = np.random.default_rng(seed)
    for _ in range(3):  # three blocks, drawn one after the other from the same generator
        block = reference_jitter_block(ref, jitter_ns, sigma)
        got = [p.delay(5) - 5 for _ in range(JITTER_BLOCK)]
        assert got == block[::-1]
        assert all(type(d) is int for d in got)
    assert p.rng.random() == ref.random()
