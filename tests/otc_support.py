"""Shared by the OTC tests: hand-made SKU/region fixings for runs whose
index layer publishes only baskets, and a small OTC scenario."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

REGIONS = ("us-east", "eu-west")
SKUS = {"H100": 0.93, "H200": 1.12}  # level against the HOPPER basket


def add_sku_region_fixings(
    fixings: dict[str, dict[dt.date, int]], basket: str = "HOPPER", seed: int = 5, idio_vol: float = 0.012
) -> dict[str, dict[dt.date, int]]:
    """SKU.region fixings = the basket's x a level x a random walk of daily
    log sd ``idio_vol`` (the basis), for every SKU and region above; the
    SKU fixings (where absent) the basket's x the level."""
    base = fixings[basket]
    days = sorted(base)
    rng = np.random.default_rng(seed)
    for sku, level in SKUS.items():
        fixings.setdefault(sku, {d: int(round(base[d] * level)) for d in days})
        for region in REGIONS:
            walk = np.cumsum(rng.standard_normal(len(days)) * idio_vol)
            fixings[f"{sku}.{region}"] = {d: int(round(base[d] * level * math.exp(w))) for d, w in zip(days, walk)}
    return fixings


def run_with_regions(sc, out):
    """`run_scenario` with SKU/region fixings added where the index layer
    publishes none (they are left alone where it does)."""
    import cfx.sim.run as run

    original = run.build_fixings

    def build(scenario):
        fixings = original(scenario)
        if not any("." in name for name in fixings):
            add_sku_region_fixings(fixings)
        return fixings

    run.build_fixings = build
    try:
        return run.run_scenario(sc, out, progress=False)
    finally:
        run.build_fixings = original
