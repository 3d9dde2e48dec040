"""The `cfx` command: one subcommand per job, each a thin shell over a module.

Every user mistake (bad flag, missing file, malformed row) ends with one
line on stderr naming what is wrong, and exit code 2.
"""

from __future__ import annotations

import argparse
import sys

from exchange.errors import InputError


def _cmd_replay(args: argparse.Namespace) -> int:
    from exchange import replay

    return replay.main(args)


def _cmd_workload(args: argparse.Namespace) -> int:
    from exchange import workload

    workload.write(args.out, workload.generate(args.n, seed=args.seed))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cfx", description="A futures exchange for GPU compute, simulated.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    r = sub.add_parser("replay", help="replay an order-message CSV (or a run journal) through the engine; print throughput as JSON")
    r.add_argument("input", help="order-message CSV (ts_ns,kind,order_id,account,side,price,qty), a LOBSTER message file, or a journal")
    r.add_argument("--format", choices=["csv", "lobster", "journal"], default=None, help="input format (default: by file content)")
    r.add_argument("--orderbook", help="LOBSTER orderbook file matching the message file (with --format lobster)")
    r.add_argument("--fills", help="write the trades as CSV here")
    r.add_argument("--book", help="write the final resting orders as JSON here")
    r.add_argument("--events", help="write the event log (JSON lines) here")
    r.add_argument("--series", default="REPLAY", help="series symbol the messages trade (default: REPLAY)")
    r.set_defaults(func=_cmd_replay)

    w = sub.add_parser("workload", help="write a seeded order-message CSV for benchmarks")
    w.add_argument("n", type=int, help="number of messages")
    w.add_argument("out", help="output CSV path")
    w.add_argument("--seed", type=int, default=7)
    w.set_defaults(func=_cmd_workload)

    # New subcommands go here, each as `sub.add_parser(...)` + `set_defaults(func=...)`.

    def _cmd_index(args: argparse.Namespace) -> int:
        from exchange import index

        return index.main(args)

    ix = sub.add_parser("index", help="compute daily SKU and basket index fixings from quotes or the seeded generator; write them as CSV")
    ix.add_argument("--config", help="index TOML (IndexConfig; default: the seeded generator with default baskets)")
    ix.add_argument("--quotes", help="quote CSV (date,sku,provider,region,term,price,weight); overrides the config's source")
    ix.add_argument("--out", required=True, help="fixings CSV to write (date,name,value_micro,value_usd,contributors,flag)")
    ix.set_defaults(func=_cmd_index)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except InputError as e:
        print(f"cfx {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
