"""What `cfx index` computes (`IndexConfig`): a quote source, the fixing
rules and the baskets; `run` ties the feeds, the generator and the fixings
together, `main` is the command."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path

import msgspec

from cfx.errors import InputError, from_validation
from cfx.inputs import read_text
from cfx.writes import check
from cfx.products import DEFAULT_BASKETS, Basket, business_days
from cfx.index.feeds import read_quotes_csv, write_fixings_csv
from cfx.index.fixing import (
    Fixing,
    FixingFlag,
    FixingRule,
    IndexSection,
    Quote,
    basket_fixings,
    check_date,
    daily_fixings,
)
from cfx.index.generator import GeneratorConfig, coarse_region, generate_quotes, region_index_name


class IndexConfig(IndexSection, frozen=True):
    """What `cfx index` computes: a quote source (a CSV or the generator),
    the fixing rule (and per-SKU overrides), and the baskets.

    `region-fixing` is the rule of the SKU x region indices (default: the
    trimmed mean with one contributor enough, as a region has few).
    Exactly one of `quotes` (a CSV path, relative to the config file) and
    `generator` is used; `quotes` wins when both are set. `sku-aliases`
    renames quoted SKUs (e.g. ``{"H100-SXM" = "H100"}`` for observations.csv).
    """

    fixing: FixingRule = msgspec.field(default_factory=FixingRule)
    region_fixing: FixingRule = msgspec.field(default_factory=lambda: FixingRule(min_contributors=1))
    per_sku: dict[str, FixingRule] = msgspec.field(default_factory=dict)
    skus: list[str] | None = None
    baskets: list[Basket] = msgspec.field(default_factory=lambda: list(DEFAULT_BASKETS.values()))
    quotes: str | None = None
    sku_aliases: dict[str, str] = msgspec.field(default_factory=dict)
    generator: GeneratorConfig | None = None
    start: dt.date | None = None
    end: dt.date | None = None

    def __post_init__(self) -> None:
        check_date(self.start, "start")
        check_date(self.end, "end")


def load_config(path: str | Path) -> IndexConfig:
    """An `IndexConfig` from TOML; a relative `quotes` path is resolved
    against the config's folder. Errors become InputError with the path in
    the document (``at `$.fixing.trim```)."""
    path = Path(path)
    try:
        cfg = msgspec.toml.decode(read_text(path, "index config"), type=IndexConfig)
    except (msgspec.ValidationError, msgspec.DecodeError) as e:
        raise from_validation(str(path), e) from None
    if cfg.quotes is not None and not Path(cfg.quotes).is_absolute():
        cfg = msgspec.structs.replace(cfg, quotes=str(path.parent / cfg.quotes))
    return cfg


def region_fixings(
    quotes: Iterable[Quote], rule: FixingRule, days: Sequence[dt.date], skus: Iterable[str]
) -> dict[str, list[Fixing]]:
    """The SKU x region indices (``H100.us-east``): each SKU's quotes grouped
    by `coarse_region` (quotes without a region left out), fixed by `rule`."""
    wanted = set(skus)
    keyed = [
        msgspec.structs.replace(q, sku=region_index_name(q.sku, r))
        for q in quotes
        if q.sku in wanted and (r := coarse_region(q.region))
    ]
    return daily_fixings(keyed, rule, days=days) if keyed else {}


def run(cfg: IndexConfig, quotes: list[Quote] | None = None) -> dict[str, list[Fixing]]:
    """SKU, SKU x region and basket fixings, by name, for a configuration.

    Days: business days from `start` (default: first quote) to `end`
    (default: last quote). Baskets whose SKUs are not all quoted are an
    InputError. `quotes` given: those instead of the configured source.
    """
    if quotes is not None:
        pass
    elif cfg.quotes is not None:
        quotes = read_quotes_csv(cfg.quotes)
        if not quotes:
            raise InputError(f"{cfg.quotes}: no quotes")
        if cfg.sku_aliases:
            quotes = [msgspec.structs.replace(q, sku=cfg.sku_aliases.get(q.sku, q.sku)) for q in quotes]
    else:
        quotes = generate_quotes(cfg.generator or GeneratorConfig())
    first = cfg.start or min(q.date for q in quotes)
    last = cfg.end or max(q.date for q in quotes)
    if last < first:
        raise InputError(f"end {last} is before start {first}")
    quoted = {q.sku for q in quotes}
    needed = set(cfg.skus) if cfg.skus is not None else set(quoted)
    for b in cfg.baskets:
        absent = sorted(set(b.weights) - quoted)
        if absent:
            raise InputError(
                f"basket {b.name}: SKU {', '.join(absent)} never quoted (quoted: {', '.join(sorted(quoted))})"
            )
        needed |= set(b.weights)
    days = business_days(first, last)
    fixings = daily_fixings(quotes, cfg.fixing, days=days, skus=needed, rules=cfg.per_sku)
    fixings.update(region_fixings(quotes, cfg.region_fixing, days, needed))
    for b in cfg.baskets:
        fixings[b.name] = basket_fixings(b, fixings)
    return fixings


def main(args) -> dict:
    """`cfx index`: load the config (or defaults), let ``--quotes`` override
    its source, compute, write ``--out``, print a one-line JSON summary."""
    cfg = load_config(args.config) if args.config else IndexConfig()
    if args.quotes:
        cfg = msgspec.structs.replace(cfg, quotes=args.quotes)
    check(args.out, "--out")
    fixings = run(cfg)
    rows = write_fixings_csv(args.out, fixings)
    if not any(f.value_micro is not None for fs in fixings.values() for f in fs):
        raise InputError(
            f"{args.out}: no fixing could be computed ({rows} rows, every one flagged); "
            f"check the quotes' dates and SKUs"
        )
    flagged = sum(f.flag != FixingFlag.OK for fs in fixings.values() for f in fs)
    days = sorted({f.date for fs in fixings.values() for f in fs})
    summary = {
        "out": str(args.out),
        "rows": rows,
        "names": sorted(fixings),
        "first": days[0].isoformat() if days else None,
        "last": days[-1].isoformat() if days else None,
        "flagged": flagged,
    }
    return summary
