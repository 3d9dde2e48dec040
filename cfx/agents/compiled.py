"""Compiled versions of built-in agents, and the agent class a run uses.

`CompiledMarketMaker` is `MarketMaker` with its per-message hooks and the
state they touch compiled (cfx/core/_mmcore.pyx: `MakerCore` before
`MarketMaker` in its bases, so its hooks are the ones called and the
reference's other methods run unchanged on its typed state);
`CompiledNoiseTrader` is `NoiseTrader` so (cfx/core/_noisecore.pyx:
`NoiseCore`, and the compiled `Executor` that works its market orders),
and `CompiledValueTrader` `ValueTrader` (cfx/core/_valuecore.pyx:
`ValueCore`, with that `Executor`), and `CompiledMomentumTrader` and
`CompiledBasisTrader` `MomentumTrader` and `BasisTrader`
(cfx/core/_takercore.pyx: `MomentumCore`, `BasisCore`). Each makes the same decisions: the
same commands in the same order and the same random draws, so the same
run hash (tests/test_mmcore.py, tests/test_noisecore.py,
tests/test_valuecore.py and tests/test_takercore.py hold them to that). They exist only when the
extension is built; whether a run uses them is `cfx.core.choose_agents`
(``CFX_ENGINE``), passed to the simulation, and `agent_class` applies it.

Not compiled: a subclass of any of them (its overrides
would be passed by), and a spec whose times do not fit the compiled
path's int64 arithmetic (`fits`); both run the Python reference.
"""

from __future__ import annotations

from cfx.agents.base import Agent, AgentSpec, agent_for
from cfx.agents.basis_trader import BasisTrader, BasisTraderSpec
from cfx.agents.market_maker import MarketMaker, MarketMakerSpec
from cfx.agents.momentum_trader import MomentumTrader, MomentumTraderSpec
from cfx.agents.noise_trader import NoiseTrader, NoiseTraderSpec
from cfx.agents.value_trader import ValueTrader, ValueTraderSpec

try:
    from cfx.core import _common, _mmcore
except ImportError:  # not built: the Python agents only
    _common = _mmcore = None
try:
    from cfx.core import _noisecore
except ImportError:  # (built apart from _mmcore, so it may be missing alone)
    _noisecore = None
try:
    from cfx.core import _valuecore
except ImportError:  # (it cimports _noisecore's, so it is missing where that is)
    _valuecore = None
try:
    from cfx.core import _takercore
except ImportError:  # (it cimports _noisecore's and _common's too)
    _takercore = None

FITS = 1 << 50
"""Bound on the spec's ns intervals the compiled maker takes: a time plus
a requote interval (or 37 of them, the longest exponential draw) stays
far inside int64; beyond it, the Python maker's unbounded ints."""

COMPILED: dict[type[Agent], type[Agent]] = {}  # Python agent class -> its compiled version (when built)

if _mmcore is not None:

    class CompiledMarketMaker(_mmcore.MakerCore, MarketMaker):
        """`MarketMaker`, its hot path compiled (`cfx.core._mmcore.MakerCore`)."""

        quoting_type = _mmcore.Quoting
        orders_type = _common.OwnOrders
        alarms_type = _common.Alarms

        def __init__(self, spec: MarketMakerSpec, index: int = 0) -> None:
            MarketMaker.__init__(self, spec, index)
            self.load(spec)

    COMPILED[MarketMaker] = CompiledMarketMaker

if _mmcore is not None and _noisecore is not None:

    class CompiledNoiseTrader(_noisecore.NoiseCore, NoiseTrader):
        """`NoiseTrader`, its hot path compiled (`cfx.core._noisecore.NoiseCore`)."""

        orders_type = _common.OwnOrders
        alarms_type = _common.Alarms

        def __init__(self, spec: NoiseTraderSpec, index: int = 0) -> None:
            NoiseTrader.__init__(self, spec, index)
            self.load(spec)

    COMPILED[NoiseTrader] = CompiledNoiseTrader

if _mmcore is not None and _noisecore is not None and _valuecore is not None:

    class CompiledValueTrader(_valuecore.ValueCore, ValueTrader):
        """`ValueTrader`, its hot path compiled (`cfx.core._valuecore.ValueCore`)."""

        orders_type = _common.OwnOrders
        alarms_type = _common.Alarms

        def __init__(self, spec: ValueTraderSpec, index: int = 0) -> None:
            ValueTrader.__init__(self, spec, index)
            self.load(spec)

    COMPILED[ValueTrader] = CompiledValueTrader

if _mmcore is not None and _noisecore is not None and _takercore is not None:

    class CompiledMomentumTrader(_takercore.MomentumCore, MomentumTrader):
        """`MomentumTrader`, its wake-ups compiled (`cfx.core._takercore.MomentumCore`)."""

        orders_type = _common.OwnOrders
        trend_type = _takercore.Trend

        def __init__(self, spec: MomentumTraderSpec, index: int = 0) -> None:
            MomentumTrader.__init__(self, spec, index)
            self.load(spec)

    class CompiledBasisTrader(_takercore.BasisCore, BasisTrader):
        """`BasisTrader`, its wake-ups compiled (`cfx.core._takercore.BasisCore`)."""

        orders_type = _common.OwnOrders

        def __init__(self, spec: BasisTraderSpec, index: int = 0) -> None:
            BasisTrader.__init__(self, spec, index)
            self.load(spec)

    COMPILED[MomentumTrader] = CompiledMomentumTrader
    COMPILED[BasisTrader] = CompiledBasisTrader


def _noise_fits(spec: NoiseTraderSpec) -> bool:
    """A noise trader's longest times under `FITS`: its wake-up and order
    lifetime, a parent's horizon (children × their interval) and, with
    busy spells, the mean length of either kind of spell."""
    children = -(-spec.max_lots // spec.child_lots) if spec.child_lots else 1
    spells = 0.0
    if spec.busy_mult != 1.0:
        spells = spec.busy_mean_s * 1e9 * max(1.0, (1.0 - spec.busy_share) / spec.busy_share)
    return (
        max(spec.mean_interval_ns, spec.order_lifetime_ns, spec.child_interval_ns * children) < FITS and spells < FITS
    )


def _value_fits(spec: ValueTraderSpec) -> bool:
    """A value trader's longest times under `FITS`: its mean wake-up and a parent's horizon."""
    return spec.mean_interval_ns < FITS and spec.horizon_s * 1e9 < FITS


def fits(spec: AgentSpec) -> bool:
    """Can the compiled version of the spec's agent run it (its ns intervals under `FITS`)?"""
    if isinstance(spec, NoiseTraderSpec):
        return _noise_fits(spec)
    if isinstance(spec, ValueTraderSpec):
        return _value_fits(spec)
    if isinstance(spec, (MomentumTraderSpec, BasisTraderSpec)):
        return spec.mean_interval_ns < FITS
    return all(getattr(spec, f, 0) < FITS for f in ("min_requote_ns", "requote_interval_ns"))


def agent_class(spec: AgentSpec, engine: str = "python") -> type[Agent]:
    """The class that runs ``spec``'s agents: its registered class, or
    with ``engine`` "compiled" (`cfx.core.choose_agents`) its compiled
    version where there is one and the spec `fits`."""
    cls = agent_for(spec)
    if engine == "compiled" and cls in COMPILED and fits(spec):
        return COMPILED[cls]
    return cls


__all__ = ["COMPILED", "FITS", "agent_class", "fits"]
