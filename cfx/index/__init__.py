"""The compute price index: constituent quotes in, one daily fixing per SKU and basket out.

A `Quote` is one constituent price (date, SKU, provider, region, term,
integer micro-dollars per GPU-hour, capacity weight). Each day and SKU,
`compute_fixing` takes every constituent's latest quote (a constituent is
provider x region x term), drops those older than the staleness limit, and
applies the index's methodology:

- ``trimmed_mean`` (default): capacity-weighted mean after cutting the
  cheapest and dearest `trim` fraction *of total weight*. A quote straddling
  a cut keeps only its weight inside [trim*W, (1-trim)*W] (partial weight).
- ``two_stage_median``: median price of each provider, then the median of
  those (an even count takes the mean of the middle two). Weights ignored.
  This is the methodology of ewyluda/gpu-price-index v1.3, reproduced exactly
  on its real 2026-10-05 data (`EWYLUDA_SERIES`, `load_ewyluda_csv`).
- ``trade_vwap``: volume-weighted mean of executed OTC trades, where the
  quote feed carries trades and `weight` is the traded volume.

Contributors are distinct providers. When fewer than `min_contributors`
remain, or all quotes are stale, or there are none, the previous fixing
carries and the `Fixing` says why (`FixingFlag`).

Rounding: every methodology computes its value exactly (rational
arithmetic on integer micro-dollars) and rounds **half up** to a multiple of
`round_to_micro` (default 1 micro-dollar; the ewyluda index uses 10_000, a
cent). Basket fixings: see `cfx.products.Basket.value_micro`.

Feeds: `read_quotes_csv` (see its docstring for columns), `load_observations`
(the real observations.csv), `load_ewyluda_csv`, `read_fixings_csv` /
`write_fixings_csv`, and the seeded generator `generate_quotes` /
`generate_fixings` (see `GeneratorConfig` for the model and where its
default numbers come from). `IndexConfig` + `run` tie them together for
`cfx index`.

Modules: `fixing` (records, rules, methodologies, daily fixings), `feeds`
(files in and out), `generator` (the seeded quotes), `intraday` (the
latent intraday value and the indicative), `config` (`cfx index`). Every
public name is importable from `cfx.index`.
"""

from __future__ import annotations

from cfx.index.fixing import (  # noqa: F401
    MICRO,
    FixingFlag,
    Quote,
    Fixing,
    FIRST_DATE,
    LAST_DATE,
    check_date,
    FixingRule,
    fixing_value,
    compute_fixing,
    daily_fixings,
    basket_fixings,
    fixing_values,
)
from cfx.index.feeds import (  # noqa: F401
    parse_price_micro,
    format_micro,
    parse_date,
    nonempty,
    read_quotes_csv,
    load_observations,
    FIXING_COLUMNS,
    write_fixings_csv,
    read_fixings_csv,
    EWYLUDA_SEGMENTS,
    EWYLUDA_SERIES,
    EWYLUDA_RULE,
    load_ewyluda_csv,
    ewyluda_index,
)
from cfx.index.generator import (  # noqa: F401
    SkuModel,
    ProviderModel,
    Launch,
    coarse_region,
    region_index_name,
    GeneratorConfig,
    DEFAULT_SEED,
    generator_seed,
    Jump,
    DailySample,
    daily_sample,
    sku_paths,
    Constituent,
    constituents,
    quotes_of,
    generate_quotes,
    generate_fixings,
)
from cfx.index.config import (  # noqa: F401
    IndexConfig,
    load_config,
    region_fixings,
    run,
    main,
)
