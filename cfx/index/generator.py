"""The seeded quote generator: SKU price paths (common factor, drift,
jumps, launches), provider and SKU x region bases, constituent quotes
(see `GeneratorConfig` for the model and where its numbers come from)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Annotated

import msgspec
import numpy as np
from msgspec import Meta

from cfx.products import first_business_days
from cfx.units import MAX_PRICE_MICRO
from cfx.index.fixing import MICRO, Fixing, FixingRule, IndexSection, Quote, check_date, daily_fixings


class SkuModel(IndexSection, frozen=True):
    """One SKU's price process: level ($/GPU-h), annual vol and drift (log),
    loading on the common factor, and the business day it is first quoted."""

    name: str
    level: Annotated[float, Meta(gt=0, le=1_000)]  # $/GPU-h, at most MAX_PRICE_MICRO
    vol: Annotated[float, Meta(ge=0, le=10)]  # 1,000%/yr, far above any GPU price (see Vol below)
    drift: Annotated[float, Meta(ge=-10, le=10)] = 0.0  # log per year, as vol
    beta: Annotated[float, Meta(ge=0, le=1)] = 0.7
    listed_from: Annotated[int, Meta(ge=0)] = 0


class ProviderModel(IndexSection, frozen=True):
    """A provider: its regions, mean log basis to the SKU price, and capacity
    (GPUs, the quote weight) per region."""

    name: str
    regions: list[str]
    basis: float = 0.0
    capacity: Annotated[int, Meta(gt=0)] = 100


class Launch(IndexSection, frozen=True):
    """A new generation launches on business day `day`: the `previous`
    generation SKUs reprice by `shock` (log) that day. To quote the new SKU
    itself, add it to `skus` with `listed-from` set to the same day."""

    day: Annotated[int, Meta(ge=0)]
    sku: str
    previous: list[str]
    shock: Annotated[float, Meta(ge=-5, le=5)] = -0.15  # log: at most a factor of ~150 either way


def _default_skus() -> list[SkuModel]:
    return [
        SkuModel(name="A100", level=1.40, vol=0.15, drift=-0.15),
        SkuModel(name="H100", level=2.65, vol=0.26, drift=-0.10),
        SkuModel(name="H200", level=3.25, vol=0.28, drift=-0.05),
        SkuModel(name="B200", level=5.50, vol=0.30, drift=0.0),
    ]


def _default_providers() -> list[ProviderModel]:
    return [
        ProviderModel(name="coreweave", regions=["us-east", "us-west"], basis=0.05, capacity=400),
        ProviderModel(name="lambda", regions=["us-east", "us-west"], basis=0.02, capacity=300),
        ProviderModel(name="nebius", regions=["eu-north", "us-central"], basis=-0.03, capacity=250),
        ProviderModel(name="crusoe", regions=["us-central"], basis=0.0, capacity=200),
        ProviderModel(name="runpod", regions=["global"], basis=-0.08, capacity=150),
        ProviderModel(name="vast", regions=["global"], basis=-0.20, capacity=100),
        ProviderModel(name="aws", regions=["us-east-1"], basis=1.0, capacity=60),
    ]


_COARSE_PREFIXES: tuple[tuple[str, str], ...] = (
    # (prefix of a provider's region name, coarse region); first match wins
    ("us-east", "us-east"),
    ("eastus", "us-east"),
    ("us-west", "us-west"),
    ("westus", "us-west"),
    ("us-central", "us-central"),
    ("centralus", "us-central"),
    ("northcentralus", "us-central"),
    ("southcentralus", "us-central"),
    ("eu", "eu-west"),
    ("westeurope", "eu-west"),
    ("northeurope", "eu-west"),
    ("uk", "eu-west"),
    ("france", "eu-west"),
    ("germany", "eu-west"),
    ("sweden", "eu-west"),
    ("switzerland", "eu-west"),
    ("poland", "eu-west"),
    ("italy", "eu-west"),
    ("spain", "eu-west"),
)


def coarse_region(region: str) -> str:
    """A provider's region name as a coarse index region (``us-east-1`` ->
    ``us-east``, ``eu-north`` / ``westeurope`` -> ``eu-west``); "" for no
    region (blank or ``global``: such quotes count for the SKU index only);
    any other name as it is, lower-cased."""
    r = region.strip().lower()
    if r in ("", "global", "na"):
        return ""
    return next((coarse for prefix, coarse in _COARSE_PREFIXES if r.startswith(prefix)), r)


def region_index_name(sku: str, region: str) -> str:
    """The published name of an SKU x region index: ``H100.us-east``."""
    return f"{sku}.{region}"


# Bounds of the generator's rates and volatilities, each far beyond a real
# market yet small enough that numpy's draws and the float prices stay finite:
# a Poisson jump count needs jump_rate / 252 < ~10^18 (numpy's "lam value too
# large" past it), and more than one jump a business day on average is no
# longer a jump; a basis reverting faster than fully each day (rate / 252 > 1)
# overshoots, and past 2 a day it grows without bound to inf.
JumpRate = Annotated[float, Meta(ge=0, le=252)]  # per year: one a business day
Reversion = Annotated[float, Meta(ge=0, le=252)]  # per year: all the way back each business day
Vol = Annotated[float, Meta(ge=0, le=10)]  # annual log vol: 1,000%/yr


class GeneratorConfig(IndexSection, frozen=True):
    """A seeded quote generator; defaults calibrated to docs/design.md ("Realistic levels and contracts") and to the
    real observations (gpu_prices/observations.csv).

    Log price of SKU s on business day t:
    ``log P_s(t) = log level_s + sum of daily returns``, where a daily return
    is ``beta*vol*e_common + sqrt(1-beta^2)*vol*e_s`` (each e ~ N(0, 1/252)),
    plus ``drift/252``, plus Poisson jumps (``jump_rate`` per year, log size
    N(jump_mean, jump_vol)), plus a launch `shock` on launch days. A quote of
    provider p in region r is ``P_s(t) * exp(y_sR(t) + x(t))``: x, the
    provider's basis, follows an Ornstein-Uhlenbeck process around the
    provider's `basis` (``basis_reversion`` per year, ``basis_vol`` annual);
    y_sR, the factor of SKU s in coarse region R (`coarse_region`), is a
    second OU process around a level drawn once per seed from
    N(0, ``region_basis_sd``) (de-meaned over the SKU's regions), reverting
    at ``region_reversion`` per year with stationary sd ``region_sd``,
    independent across regions and SKUs. Quotes without a region (``global``
    marketplaces) have no region factor. Each quote is missing with
    probability ``missing``. `seed` None: the caller's seed (`cfx run`: the
    scenario seed; elsewhere `DEFAULT_SEED`).

    Where the numbers come from: levels and vols are docs/design.md's "Realistic
    levels and contracts" (public index data, 2026: H100 ~$2.65 at neoclouds, H200 $3.25,
    B200 $5-6, A100 $1.40; vol 26% H100, 30% B200, 15% A100; H200's 28% is an
    interpolation). Drifts: older generations decay (A100 -15%/yr, H100
    -10%/yr), consistent with the ~13% backwardation over 36 months there.
    Provider bases: marketplaces (vast, runpod) below neoclouds, a
    hyperscaler list price near 2.7x (exp(1.0)) with small capacity, so the
    10% trim removes it. Jump and launch sizes are illustrative, not fitted.
    Region figures, computed from gpu_prices/observations.csv (a one-off
    script, not shipped; H100-SXM, H200, A100-80GB, B200 rows):
    ``region_basis_sd`` 0.165 is the pooled sd of log(region price / the
    provider's median over its regions) on 2026-10-05, on-demand, for the
    providers quoting one SKU in 3+ regions (Azure, AWS; 100 prices);
    ``region_reversion`` 125/yr is -252*log(phi) for phi = 0.609, the median
    day-to-day AR(1) coefficient of log(provider price / SKU median) in the
    tugot17 daily series (15 provider x SKU series, half-life 1.4 days);
    ``region_sd`` 0.0195 = 0.0536 * sqrt(1 - 0.868), where 0.0536 is the
    median sd over time of those relative log prices and 0.868 the median
    correlation of their daily changes between providers of one SKU: that
    shared part moves every constituent of a SKU together, so the model
    keeps it in the SKU's own factor (vol above) and gives a region only
    the rest. Cross-region correlation of SKU x region returns then comes
    from the shared SKU factor: over 1000 generated days, daily returns of
    H100.us-east correlate about 0.45 with H100.us-west and 0.69 with HOPPER.
    """

    seed: Annotated[int, Meta(ge=0, le=2**63 - 1)] | None = None
    start: dt.date = dt.date(2027, 1, 4)
    days: Annotated[int, Meta(ge=1, le=20_000)] = 260
    skus: list[SkuModel] = msgspec.field(default_factory=_default_skus)
    providers: list[ProviderModel] = msgspec.field(default_factory=_default_providers)
    basis_reversion: Reversion = 12.0
    basis_vol: Vol = 0.10
    region_basis_sd: Annotated[float, Meta(ge=0.0, le=2.0)] = 0.165
    region_reversion: Annotated[float, Meta(ge=0)] = 125.0
    region_sd: Annotated[float, Meta(ge=0.0, le=2.0)] = 0.0195
    jump_rate: JumpRate = 1.0
    jump_mean: Annotated[float, Meta(ge=-5, le=5)] = -0.03  # log, as a launch's shock
    jump_vol: Vol = 0.08
    missing: Annotated[float, Meta(ge=0, lt=1)] = 0.02
    launches: list[Launch] = msgspec.field(
        default_factory=lambda: [Launch(day=130, sku="B300", previous=["B200", "H200"], shock=-0.12)]
    )

    def __post_init__(self) -> None:
        check_date(self.start, "start")
        check_date(self.start + dt.timedelta(days=self.days * 7 // 5 + 7), "start + days")


DEFAULT_SEED = 6  # the generator's seed when neither the config nor the caller gives one


def generator_seed(cfg: GeneratorConfig) -> int:
    """The seed a generator config draws from (`DEFAULT_SEED` when unset)."""
    return DEFAULT_SEED if cfg.seed is None else cfg.seed


class Jump(msgspec.Struct, frozen=True):
    """One jump of an SKU's log price on business day `day` (an index into
    the sample's dates): the generator's Poisson jumps and launch shocks,
    and the scenario's index moves. `minute`: minute of the day it happens
    (None: a random time of the day, drawn by the intraday process)."""

    sku: str
    day: int
    size: float
    minute: int | None = None


class DailySample(msgspec.Struct):
    """The generator's SKU log prices per business day, with the jumps that
    are part of them, so that an intraday process can place the jumps in
    the day and bridge the rest (`cfx.index.intraday`)."""

    dates: list[dt.date]
    log_price: dict[str, np.ndarray]  # SKU -> log $/GPU-h per day
    jumps: list[Jump]

    def add_jump(self, jump: Jump) -> None:
        """Move `jump.sku`'s log price by `jump.size` from its day on."""
        self.log_price[jump.sku][jump.day :] += jump.size
        self.jumps.append(jump)


def daily_sample(cfg: GeneratorConfig) -> DailySample:
    """The generator's SKU paths (log $/GPU-h per business day) and their jumps."""
    rng = np.random.default_rng(generator_seed(cfg))
    n, k = cfg.days, len(cfg.skus)
    dates = first_business_days(cfg.start, n)
    dt_y = 1.0 / 252
    common = rng.standard_normal(n) * math.sqrt(dt_y)
    own = rng.standard_normal((k, n)) * math.sqrt(dt_y)
    jumps_n = rng.poisson(cfg.jump_rate * dt_y, (k, n))
    jump_sizes = rng.normal(cfg.jump_mean, cfg.jump_vol, (k, n)) * jumps_n
    paths, jumps = {}, []
    for i, s in enumerate(cfg.skus):
        r = s.beta * s.vol * common + math.sqrt(1 - s.beta**2) * s.vol * own[i] + s.drift * dt_y + jump_sizes[i]
        for t in np.flatnonzero(jump_sizes[i][1:]) + 1:
            jumps.append(Jump(s.name, int(t), float(jump_sizes[i][t])))
        for launch in cfg.launches:
            if s.name in launch.previous and launch.day < n:
                r[launch.day] += launch.shock
                if launch.day > 0:
                    jumps.append(Jump(s.name, launch.day, launch.shock))
        r[0] = 0.0
        paths[s.name] = math.log(s.level) + np.cumsum(r)
    return DailySample(dates, paths, jumps)


def sku_paths(cfg: GeneratorConfig) -> tuple[list[dt.date], dict[str, np.ndarray]]:
    """The generator's underlying SKU prices ($/GPU-h, floats) per business day."""
    sample = daily_sample(cfg)
    return sample.dates, {name: np.exp(lp) for name, lp in sample.log_price.items()}


class Constituent(msgspec.Struct, frozen=True):
    """One generated constituent (SKU x provider x region) and its daily
    quotes in micro-dollars (0: no quote that day)."""

    sku: str
    provider: str
    region: str
    weight: int
    prices: np.ndarray  # int64 per day


def constituents(cfg: GeneratorConfig, sample: DailySample | None = None) -> list[Constituent]:
    """Every SKU x provider x region of the generator with its daily quotes
    (`generate_quotes` lists them). Same config and sample, same result."""
    sample = sample or daily_sample(cfg)
    seed = generator_seed(cfg)
    rng = np.random.default_rng([seed, 1])  # basis and gaps: a stream apart from the paths
    region_rng = np.random.default_rng([seed, 3])  # SKU x region factors: another one
    n = cfg.days
    kappa, sig = cfg.basis_reversion / 252, cfg.basis_vol * math.sqrt(1 / 252)
    phi = math.exp(-cfg.region_reversion / 252)
    out = []
    for s in cfg.skus:
        regions = sorted({coarse_region(r) for p in cfg.providers for r in p.regions} - {""})
        levels = region_rng.normal(0.0, cfg.region_basis_sd, len(regions))
        levels -= levels.mean() if len(regions) > 1 else 0.0
        factor = {"": np.zeros(n)}
        for region, level in zip(regions, levels):
            e = region_rng.standard_normal(n) * cfg.region_sd * math.sqrt(1 - phi * phi)
            y = np.empty(n)
            prev = level + region_rng.standard_normal() * cfg.region_sd
            for t in range(n):
                prev = level + phi * (prev - level) + e[t]
                y[t] = prev
            factor[region] = y
        log_path = sample.log_price[s.name]
        for p in cfg.providers:
            for region in p.regions:
                shocks = rng.standard_normal(n) * sig
                gone = rng.random(n) < cfg.missing
                x = np.empty(n)
                b = p.basis
                for t in range(n):
                    b += kappa * (p.basis - b) + shocks[t]
                    x[t] = b
                level = np.exp(log_path + x + factor[coarse_region(region)]) * MICRO
                # a path that wandered past $1,000 (or to inf: huge vols over many days) stops there, not at int64 garbage
                prices = np.rint(np.clip(level, 1, MAX_PRICE_MICRO)).astype(np.int64)
                prices[gone] = 0
                prices[: s.listed_from] = 0
                out.append(Constituent(s.name, p.name, region, p.capacity, prices))
    return out


def quotes_of(cfg: GeneratorConfig, parts: Sequence[Constituent]) -> list[Quote]:
    """The constituents' daily quotes as `Quote`s (term on_demand, weight =
    capacity), sorted by date, SKU, provider, region."""
    dates = first_business_days(cfg.start, cfg.days)
    out = [
        Quote(
            date=dates[t],
            sku=c.sku,
            provider=c.provider,
            region=c.region,
            price_micro=int(c.prices[t]),
            weight=c.weight,
        )
        for c in parts
        for t in np.flatnonzero(c.prices)
    ]
    out.sort(key=lambda q: (q.date, q.sku, q.provider, q.region))
    return out


def generate_quotes(cfg: GeneratorConfig | None = None) -> list[Quote]:
    """Quotes per business day: every SKU x provider x region (once the SKU
    is listed), in micro-dollars (rounded to the nearest micro at the edge),
    term on_demand, weight = the provider's capacity. Same config, same list."""
    cfg = cfg or GeneratorConfig()
    return quotes_of(cfg, constituents(cfg))


def generate_fixings(cfg: GeneratorConfig | None = None, rule: FixingRule | None = None) -> dict[str, list[Fixing]]:
    """Daily SKU fixings straight from the generator (one per business day)."""
    cfg = cfg or GeneratorConfig()
    return daily_fixings(
        generate_quotes(cfg), rule, days=first_business_days(cfg.start, cfg.days), skus=[s.name for s in cfg.skus]
    )
