"""The guarantee fund and the default waterfall.

A defaulter's loss is met, in order, by its collateral, its own guarantee
fund contribution, the insurance fund (cfx/clearing/house.py holds it:
the perpetual venues' layer before losses are mutualised), then the other (non-defaulting) members' contributions
pro rata (floor shares, the remaining micro-dollars one each in account
order), then the clearing house's capital (kept by the house). Whatever is
left is uncovered and stays as the defaulter's negative collateral, so cash
is conserved and the hole stays visible.
"""

from __future__ import annotations

from collections.abc import Collection


class GuaranteeFund:
    """Members' contributions (micro-$). ``total`` is what the fund holds."""

    __slots__ = ("contributions",)

    def __init__(self) -> None:
        self.contributions: dict[int, int] = {}

    @property
    def total(self) -> int:
        return sum(self.contributions.values())

    def contribute(self, account: int, amount: int) -> None:
        self.contributions[account] = self.contributions.get(account, 0) + amount

    def absorb(
        self, loss: int, defaulter: int, exclude: Collection[int] = (), *, own_only: bool = False
    ) -> tuple[int, int]:
        """Take up to ``loss`` from the fund: returns (from the defaulter's own
        contribution, from the others', pro rata). ``exclude``: members whose
        contributions are not shared (other defaulters: theirs covers their
        own losses first); ``own_only``: the defaulter's own contribution
        only (a layer such as the insurance fund comes before the others').
        Runtime: O(members)."""
        c = self.contributions
        own = min(loss, c.get(defaulter, 0))
        if own:
            c[defaulter] -= own
        rest = loss - own
        if own_only:
            return own, 0
        others = sorted(a for a, v in c.items() if a != defaulter and v > 0 and a not in exclude)
        pool = sum(c[a] for a in others)
        take = min(rest, pool)
        if take:
            shares = {a: take * c[a] // pool for a in others}
            left = take - sum(shares.values())
            for a in others:
                if not left:
                    break
                if shares[a] < c[a]:
                    shares[a] += 1
                    left -= 1
            for a, s in shares.items():
                c[a] -= s
        return own, take
