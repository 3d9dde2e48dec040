"""The compiled matching core (optional) and the choice of engine.

Compiled (Cython, C++) pieces of the exchange, for three jobs (and the
built-in agents' hot paths, `cfx.core._mmcore` the market maker's,
`cfx.core._noisecore` the noise trader's, `cfx.core._valuecore` the
value trader's and `cfx.core._takercore` the momentum and basis
traders', which `choose_agents` picks, with `cfx.core._common`,
what they share):

- `cfx.core._book`: the engine's hot subset for one series (validation,
  limit/market/IOC/FOK, cancel, modify, STP) with events out as int64
  rows, for ``cfx replay`` of an order CSV; cfx/core/engine.py says what
  it covers. `choose` picks it.
- `cfx.core._orderbook`: a book only, `CompiledOrderBook`, the same
  `cfx.book.Book` protocol as the Python reference `cfx.book.OrderBook`
  (same Order and event Structs, same events), under the full
  `cfx.engine.Engine` (sessions, auctions, bands, risk gate, stops stay
  there): what a scenario (``cfx run``) can run on. `choose_book` picks it.
- `cfx.core._schedule`: a scenario loop's event schedule, the compiled
  twin of `cfx.core.schedule.PySchedule` (the same items in the same
  order, so the same run); `cfx.core.schedule.new` takes it whenever the
  core is built, unless ``CFX_ENGINE=python`` (a pure-Python run).

All are built by ``make install`` when a C++ compiler is there, and
skipped otherwise (or with ``CFX_NO_EXTENSION=1``, which also makes an
installed build count as missing). The engine is chosen by ``--engine``
(replay) or ``CFX_ENGINE``: ``auto`` (the default: for a replay, compiled
when it is built and the input is an order CSV; for a scenario, see
`choose_book`), ``python`` or ``compiled`` (an error if it is not built;
as ``--engine``, also for a journal or LOBSTER input, which ``CFX_ENGINE``
leaves to the Python engine).
"""

from __future__ import annotations

import importlib.util
import os

from cfx.errors import InputError

ENGINES = ("auto", "python", "compiled")


def available() -> bool:
    """Is the compiled core (all four modules) built and allowed
    (``CFX_NO_EXTENSION`` unset)? The scenario book is only looked for,
    not imported: it imports the Python book, which a compiled replay
    never loads."""
    if os.environ.get("CFX_NO_EXTENSION"):
        return False
    try:
        from cfx.core import _book, _columns, _schedule  # noqa: F401
    except ImportError:
        return False
    return importlib.util.find_spec("cfx.core._orderbook") is not None


def choose(requested: str | None = None, fmt: str = "csv") -> str:
    """The engine to replay input of format ``fmt`` with, "python" or
    "compiled": ``requested`` (the --engine flag), else ``CFX_ENGINE``,
    else auto. Asking for the compiled engine where it cannot run is an
    `InputError`."""
    source = "--engine" if requested else "CFX_ENGINE"
    name = requested or os.environ.get("CFX_ENGINE") or "auto"
    if name not in ENGINES:
        raise InputError(f"{source}: expected one of {', '.join(ENGINES)}, got {name!r}")
    if name == "python" or (name == "auto" and (fmt != "csv" or not available())):
        return "python"
    if fmt != "csv" and not requested:  # CFX_ENGINE is a preference; a journal or LOBSTER file needs the venue
        return "python"
    if fmt != "csv":
        raise InputError(
            f"{source}=compiled: the compiled engine replays order CSVs only; a {fmt} input needs the python engine"
        )
    if not available():
        raise InputError(
            f"{source}=compiled: the compiled core is not built (install with a C++ compiler "
            "and without CFX_NO_EXTENSION), or use the python engine"
        )
    return "compiled"


AUTO_BOOK = "compiled"
"""What ``auto`` runs a scenario's books on (see `choose_book`) when the
compiled core is built: the compiled book, as for everything else ``auto``
chooses. The same run hash; the gain is small because the book is a few
percent of a run (baseline, 5 days, seed 42, with the compiled market
maker, 12 alternating pairs auto-with-the-Python-book vs compiled:
+2 to +4 % engine messages/s, median; before the maker was compiled it
was within the machine's noise, callgrind -1.4 % instructions)."""


def choose_book(requested: str | None = None) -> str:
    """The book a scenario's engine uses, "python" or "compiled":
    ``requested``, else ``CFX_ENGINE``, else auto (`AUTO_BOOK` when the
    compiled core is built, else python). Asking for the compiled book
    when it is not built is an `InputError`."""
    return _choose_for_scenario(requested, available(), AUTO_BOOK, "core")


def _choose_for_scenario(requested: str | None, built: bool, auto: str, what: str) -> str:
    """``requested``, else ``CFX_ENGINE``, else ``auto`` when ``built``;
    "compiled" when ``what`` is not built is an `InputError`."""
    source = "engine" if requested else "CFX_ENGINE"
    name = requested or os.environ.get("CFX_ENGINE") or "auto"
    if name not in ENGINES:
        raise InputError(f"{source}: expected one of {', '.join(ENGINES)}, got {name!r}")
    if name == "auto":
        return auto if built else "python"
    if name == "compiled" and not built:
        raise InputError(
            f"{source}=compiled: the compiled {what} is not built (install with a C++ compiler "
            "and without CFX_NO_EXTENSION), or use the python engine"
        )
    return name


def book_type(name: str) -> type:
    """The book class of engine ``name`` ("python" or "compiled", as `choose_book` gives)."""
    if name == "compiled":
        from cfx.core._orderbook import CompiledOrderBook

        return CompiledOrderBook
    from cfx.book import OrderBook

    return OrderBook


AUTO_AGENTS = "compiled"
"""What ``auto`` runs a scenario's built-in agents on (see `choose_agents`):
its market makers on the compiled maker, `cfx.agents.compiled.CompiledMarketMaker`, when it is
built: the same run hash, and a run ~17 % faster (baseline, 5 days, seed
42, 7 alternating pairs: 17,609 -> 20,591 engine messages/s, median;
the maker was the largest agent cost, ~17 % of the main thread); and its
noise traders on `cfx.agents.compiled.CompiledNoiseTrader`, the same way
(~10 % of the main thread before; ~6 % fewer instructions in a 2-day
baseline under callgrind, the same run hash), and its value traders on
`cfx.agents.compiled.CompiledValueTrader` (~7.5 % of the main thread
before, a third of it their own Python: -2.5 % instructions in a 2-day
baseline, the same run hash)."""


def agents_available() -> bool:
    """Is the compiled market maker (`cfx.core._mmcore`) built, with the
    context's C interface and the helpers it cimports (`cfx.core._agentctx`,
    `cfx.core._common`), and allowed
    (``CFX_NO_EXTENSION`` unset)? Looked for, not imported. (The noise,
    value, momentum and basis traders', `cfx.core._noisecore`,
    `cfx.core._valuecore` and `cfx.core._takercore`, need them too;
    where one of them alone is missing,
    `cfx.agents.compiled.agent_class` gives the Python agent.)"""
    if os.environ.get("CFX_NO_EXTENSION"):
        return False
    return all(importlib.util.find_spec(f"cfx.core.{m}") is not None for m in ("_mmcore", "_agentctx", "_common"))


def choose_agents(requested: str | None = None) -> str:
    """What a scenario's built-in agents run on, "python" or "compiled"
    (the compiled hot paths of the market maker and the noise, value,
    momentum and basis traders, `cfx.agents.compiled`):
    ``requested``, else ``CFX_ENGINE`` (the same variable as the books',
    so ``CFX_ENGINE=python`` is a pure-Python run), else auto
    (`AUTO_AGENTS` when it is built, else python). Asking for the
    compiled agents when they are not built is an `InputError`."""
    return _choose_for_scenario(requested, agents_available(), AUTO_AGENTS, "market maker")
