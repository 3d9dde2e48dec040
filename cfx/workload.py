"""A seeded order-message workload for benchmarks and `make run`.

Writes the order-message CSV (README, "File formats") (``ts_ns,kind,order_id,account,
side,price,qty``) for one series: passive limits around a random-walk mid,
aggressive limits crossing a few ticks, market and IOC orders, cancels and
modifies of earlier orders (some already filled: those are rejected as
unknown). Buyers and sellers use disjoint accounts, so nothing self-trades.
Same ``n`` and ``seed``, same file.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator

import numpy as np

from cfx.errors import InputError
from cfx.writes import atomic

HEADER = "ts_ns,kind,order_id,account,side,price,qty"
MID = 10_000
MAX_MESSAGES = 100_000_000  # about 4.5 GB of CSV


def generate(n: int, seed: int = 7) -> list[str]:
    """``n`` CSV rows (no header). Mix: 50% passive limit, 25% cancel,
    5% modify, 10% aggressive limit, 5% IOC, 5% market."""
    return list(rows(n, seed))


def rows(n: int, seed: int = 7) -> Iterator[str]:
    """The rows of `generate`, one at a time (what `cfx workload` writes)."""
    rng = np.random.default_rng(seed)
    u = rng.random(n)
    side = rng.integers(0, 2, n)
    qty = rng.integers(1, 101, n)
    mid = MID + np.cumsum(rng.choice([-1, 0, 1], size=n, p=[0.1, 0.8, 0.1]))
    offset = rng.geometric(0.25, n)
    cross = rng.integers(1, 4, n)
    pick = rng.random(n)
    account = rng.integers(0, 50, n)
    resting: list[tuple[int, int, str, int]] = []  # (order_id, account, side, price) of limits so far
    for i in range(n):
        ts = (i + 1) * 1000
        s = int(side[i])
        sname = "buy" if s == 0 else "sell"
        a = int(account[i]) + 50 * s
        oid = i + 1
        m = int(mid[i])
        q = int(qty[i])
        x = u[i]
        if x >= 0.5 and x < 0.8 and resting:
            tid, ta, tside, tprice = resting[int(pick[i] * len(resting))]
            if x < 0.75:
                yield f"{ts},cancel,{tid},{ta},{tside},0,0"
            else:
                newp = tprice + (1 if pick[i] < 0.5 else -1) * int(cross[i] - 1)
                yield f"{ts},modify,{tid},{ta},{tside},{max(newp, 1)},{q}"
        elif x < 0.8:
            p = m - int(offset[i]) if s == 0 else m + int(offset[i])
            yield f"{ts},limit,{oid},{a},{sname},{p},{q}"
            resting.append((oid, a, sname, p))
        elif x < 0.9:
            p = m + int(cross[i]) if s == 0 else m - int(cross[i])
            yield f"{ts},limit,{oid},{a},{sname},{p},{q}"
            resting.append((oid, a, sname, p))
        elif x < 0.95:
            p = m + int(cross[i]) if s == 0 else m - int(cross[i])
            yield f"{ts},ioc,{oid},{a},{sname},{p},{q}"
        else:
            yield f"{ts},market,{oid},{a},{sname},0,{q}"


def write(path: str, rows: Iterable[str], flag: str = "") -> None:
    """The CSV at ``path``, whole or not at all (`cfx.writes.atomic`)."""
    with atomic(path, "w", flag) as f:
        f.write(HEADER + "\n")
        for row in rows:
            f.write(row + "\n")


def main(args: Any) -> None:
    """`cfx workload N OUT.csv [--seed S]`."""
    if args.n > MAX_MESSAGES:
        raise InputError(f"n: {args.n:,} messages is more than the {MAX_MESSAGES:,} a workload may have")
    from cfx.writes import check

    check(args.out, "OUT")
    write(args.out, rows(args.n, seed=args.seed), "OUT")
