"""Units and the constants that carry them: the one place they are written.

Everything in the engine, clearing and the sim loop is an integer in these
units (docs/design.md, "The schema"):

- time: nanoseconds since the Unix epoch (UTC); `NS` per second;
- money: micro-dollars; `MICRO` per dollar;
- price: ticks of `TICK_MICRO` micro-dollars per GPU-hour (the default tick,
  $0.01; a scenario may set another);
- quantity: contracts (lots) of `CONTRACT_UNIT` GPU-hours (the default).
"""

from __future__ import annotations

NS = 1_000_000_000
"""Nanoseconds per second."""
MS = 1_000_000
"""Nanoseconds per millisecond."""
MINUTE_NS = 60 * NS
HOUR_NS = 60 * MINUTE_NS
NEVER_NS = 8 * 10**18
"""The latest time anything is scheduled for (about 2223: after any run
ends, as a calendar starts by 2199 and lasts at most 2,000 days). A
wake-up or deadline an agent asks for later is kept at it: it never
comes, and it fits the int64 times of the compiled schedule (which
refuses others) and of the tables."""

MICRO = 1_000_000
"""Micro-dollars per dollar."""

CONTRACT_UNIT = 730
"""GPU-hours per contract: one GPU for an average month (8760 / 12)."""
TICK_MICRO = 10_000
"""Micro-dollars per GPU-hour per tick ($0.01)."""
MAX_PRICE_MICRO = 1_000 * MICRO
"""The highest price per GPU-hour any input may state, and the highest the
index generator makes: $1,000, hundreds of times any rental price, and
10^9 GPU-hours (the largest forward) times it stays below 2^63."""


def micro(usd: float) -> int:
    """Dollars to integer micro-dollars (half away from zero, as `round` of a float does)."""
    return round(usd * MICRO)
