"""Compiled versions of built-in agents, and the agent class a run uses.

`CompiledMarketMaker` is `MarketMaker` with its per-message hooks and the
state they touch compiled (cfx/core/_mmcore.pyx: `MakerCore` before
`MarketMaker` in its bases, so its hooks are the ones called and the
reference's other methods run unchanged on its typed state). It makes
the same decisions: the same commands in the same order, so the same run
hash (tests/test_mmcore.py holds the two to that). It exists only when
the extension is built; whether a run uses it is `cfx.core.choose_agents`
(``CFX_ENGINE``), passed to the simulation, and `agent_class` applies it.

Not compiled: a subclass of `MarketMaker` (its overrides would be passed
by), and a spec whose times do not fit the compiled path's int64
arithmetic (`FITS`); both run the Python reference.
"""

from __future__ import annotations

from cfx.agents.base import Agent, AgentSpec, agent_for
from cfx.agents.market_maker import MarketMaker, MarketMakerSpec

try:
    from cfx.core import _mmcore
except ImportError:  # not built: the Python agents only
    _mmcore = None

FITS = 1 << 50
"""Bound on the spec's ns intervals the compiled maker takes: a time plus
a requote interval (or 37 of them, the longest exponential draw) stays
far inside int64; beyond it, the Python maker's unbounded ints."""

COMPILED: dict[type[Agent], type[Agent]] = {}  # Python agent class -> its compiled version (when built)

if _mmcore is not None:

    class CompiledMarketMaker(_mmcore.MakerCore, MarketMaker):
        """`MarketMaker`, its hot path compiled (`cfx.core._mmcore.MakerCore`)."""

        quoting_type = _mmcore.Quoting
        orders_type = _mmcore.OwnOrders
        alarms_type = _mmcore.Alarms

        def __init__(self, spec: MarketMakerSpec, index: int = 0) -> None:
            MarketMaker.__init__(self, spec, index)
            self.load(spec)

    COMPILED[MarketMaker] = CompiledMarketMaker


def fits(spec: AgentSpec) -> bool:
    """Can the compiled version of the spec's agent run it (its ns intervals under `FITS`)?"""
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
