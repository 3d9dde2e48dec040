"""The agent library. Importing this package registers every agent type
(`cfx.agents.base.REGISTRY`); `AGENT_SPECS` lists their parameter
Structs, from which a scenario's tagged union of agent entries is built::

    AgentEntry = Union[AGENT_SPECS]  # typing.Union[tuple] works at runtime

A new agent type: subclass `AgentSpec` (with ``tag="name"``) and `Agent`,
decorate the agent with ``@register(Spec)`` (see `cfx.agents.base`),
and add the Spec here.
"""

from cfx.agents import (  # noqa: F401  (imported to register the agents)
    basis_trader,
    market_maker,
    momentum_trader,
    natural_hedgers,
    noise_trader,
    otc_dealer,
    squeezer,
    value_trader,
)
from cfx.agents.base import (
    REGISTRY,
    Agent,
    AgentSpec,
    Context,
    DayReport,
    Quote,
    Trigger,
    Withdrawable,
    agent_for,
    register,
)
from cfx.agents.basis_trader import BasisTrader, BasisTraderSpec
from cfx.agents.market_maker import MarketMaker, MarketMakerSpec
from cfx.agents.momentum_trader import MomentumTrader, MomentumTraderSpec
from cfx.agents.natural_hedgers import InferencePlatform, InferencePlatformSpec, Neocloud, NeocloudSpec
from cfx.agents.noise_trader import NoiseTrader, NoiseTraderSpec
from cfx.agents.otc_dealer import OtcDealer, OtcDealerSpec
from cfx.agents.squeezer import SettlementSqueezer, SettlementSqueezerSpec
from cfx.agents.value_trader import ValueTrader, ValueTraderSpec

AGENT_SPECS: tuple[type[AgentSpec], ...] = (
    MarketMakerSpec,
    OtcDealerSpec,
    NeocloudSpec,
    InferencePlatformSpec,
    NoiseTraderSpec,
    BasisTraderSpec,
    MomentumTraderSpec,
    SettlementSqueezerSpec,
    ValueTraderSpec,
)

__all__ = [
    "AGENT_SPECS",
    "REGISTRY",
    "Agent",
    "AgentSpec",
    "BasisTrader",
    "BasisTraderSpec",
    "Context",
    "DayReport",
    "InferencePlatform",
    "InferencePlatformSpec",
    "MarketMaker",
    "MarketMakerSpec",
    "MomentumTrader",
    "MomentumTraderSpec",
    "Neocloud",
    "NeocloudSpec",
    "NoiseTrader",
    "NoiseTraderSpec",
    "OtcDealer",
    "OtcDealerSpec",
    "Quote",
    "SettlementSqueezer",
    "SettlementSqueezerSpec",
    "Trigger",
    "ValueTrader",
    "ValueTraderSpec",
    "Withdrawable",
    "agent_for",
    "register",
]
