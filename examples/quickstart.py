"""cfx quickstart: load a scenario, change it, run it, read it, extend it, compare.

    python examples/quickstart.py [--days N] [--out DIR]

Each step is what docs/tutorial.md explains; the test suite runs this file.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import cfx
from cfx.agents.base import SECOND, Agent, AgentSpec, Trigger, register
from cfx.report import write_compare
from cfx.types import Side, TimeInForce


# A custom agent: buys a lot of the front month at the best ask every few minutes.
class DipBuyerSpec(AgentSpec, tag="dip_buyer"):
    lots: int = 1
    every_s: int = 300


@register(DipBuyerSpec)
class DipBuyer(Agent):
    def on_start(self, ctx):
        ctx.wake_after(self.spec.every_s * SECOND)

    def on_wakeup(self, ctx):
        series = ctx.front()
        quote = ctx.quote(series)
        if quote.ask is not None:
            ctx.submit(series, Side.BUY, self.spec.lots, quote.ask, tif=TimeInForce.IOC)
        ctx.wake_after(self.spec.every_s * SECOND)


# An agent that reacts instead of polling: it buys once, when the front month's ask or a trade comes a
# tick under the index, and hears no other market data.
class LevelBuyerSpec(AgentSpec, tag="level_buyer"):
    lots: int = 1


@register(LevelBuyerSpec)
class LevelBuyer(Agent):
    def on_start(self, ctx):
        series = ctx.front()
        ctx.watch(series, Trigger(below=ctx.index_ticks(series) - 1))

    def on_market_data(self, ctx, series):
        quote = ctx.quote(series)
        if quote.ask is not None:
            ctx.submit(series, Side.BUY, self.spec.lots, quote.ask, tif=TimeInForce.IOC)
        ctx.unwatch(series)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="cfx-quickstart-"))

    # 1. A shipped scenario by name, with one parameter changed by its TOML path.
    base = cfx.load("baseline", **{"calendar.days": args.days})
    wide = cfx.load("baseline", **{"calendar.days": args.days, "agents[0].half-spread-ticks": 3.0})

    # 2. Run both (same seed: the only difference is the market makers' spread).
    a = cfx.run(base, out=out / "base", progress=False)
    b = cfx.run(wide, out=out / "wide", progress=False)
    print("run hashes:", a.summary["run_hash"][:12], b.summary["run_hash"][:12])

    # 3. Trades as a DataFrame: UTC times, dollar prices, agent types on both sides.
    trades = a.trades()
    print(trades[["time", "series", "price_usd", "qty_lots", "maker_type", "taker_type"]].head())
    print(trades.groupby("maker_type")["qty_lots"].sum().sort_values(ascending=False))

    # 4. Custom agents in the same market: add them by their registered type names.
    with_buyers = cfx.load("baseline", **{"calendar.days": args.days})
    with_buyers.agents += [DipBuyerSpec(lots=2), LevelBuyerSpec(lots=2)]
    c = cfx.run(with_buyers, out=out / "buyers", progress=False)
    bought = c.trades().groupby("taker_type")["qty_lots"].sum()
    print("the dip buyer bought", int(bought.get("dip_buyer", 0)), "lots")
    print("the level buyer bought", int(bought.get("level_buyer", 0)), "lots")

    # 5. Compare two runs side by side (an HTML page).
    print("compare page:", write_compare(a.path, b.path, out / "compare.html"))
    print("mean spread (ticks):", a.summary["mean_spread_ticks"], "->", b.summary["mean_spread_ticks"])


if __name__ == "__main__":
    main()
