"""Day-boundary checkpoints, so `cfx run --resume RUN_DIR` can continue a
killed run and end exactly as the uninterrupted run would.

At the end of each simulated day (and once before the first) the whole
`Simulation` is pickled: venue, books, clearing, agents with their random
generators, the event schedule (its actions are partials of bound methods,
never lambdas), counters. The writer is not part of it: the checkpoint
records instead how far the run's files had got (finished day parts, the
journal's record count, running hash and byte offset, each finished
part's sha256). The pickle is taken at the day boundary; the file is
written on the run writer's background thread once the day's parts are
closed and renamed and the journal fsynced (`RunWriter.end_part`), and
renamed into place (`cfx.writes.write_atomic`), while the next day runs.
A run killed before then resumes from the day before. Resuming checks
the parts against it (a part deleted, cut short or changed is refused:
its day would be missing from the tables), cuts the journal and the
parts back to that point and runs on; the event hash is rebuilt from
the journal's first commands (`cfx.sim.outputs.replay_hash`). A run with
``[output] journal = false`` writes no checkpoints and cannot be resumed.
"""

from __future__ import annotations

import copyreg
import io
import operator
import pickle
from functools import partial
from pathlib import Path
from typing import Any

import msgspec

from cfx.errors import InputError
from cfx.journal import Position
from cfx.sim import scenario as scn
from cfx.writes import write_atomic

FILE = "checkpoint.pkl"
VERSION = 9
# 2: the day parts are Arrow IPC streams (.arrows), not Parquet; 3: participants keep their queued wake-up times;
# 4: the event heap holds int keys (`cfx.sim.loop.SEQ_BITS`), and a market maker's quoting state its side plans;
# 5: an agent's `Alarms` keeps its earliest deadline; 6: participants and their contexts live in cfx.sim.participant;
# 7: the sha256 of every finished day part (`Checkpoint.digests`); 8: the event heap is a `cfx.core.schedule` (the
# same pickle from either implementation); 9: the compiled agents' `Alarms` and `OwnOrders` are cfx.core._common's,
# an `Alarms` pickled as its ``at`` and ``earliest``, and a compiled momentum trader's trends are
# cfx.core._takercore's `Trend`s


class Checkpoint(msgspec.Struct, frozen=True):
    """What a run directory's checkpoint holds."""

    version: int
    parts: int  # finished day parts in RUN_DIR/.parts
    position: Position  # the journal after the last command of those days
    sim: bytes  # the pickled Simulation, without its writer and progress callback
    digests: dict[str, str]  # finished part file name -> sha256: resuming refuses parts that are not these


PROTOCOL = pickle.HIGHEST_PROTOCOL
_MET: list = []  # the plain objects `_dumps` is pickling


def _plain(obj: Any) -> Any:
    """Pickles ``obj`` as pickle would, and notes it for `_dumps`."""
    _MET.append(obj)
    return obj.__reduce_ex__(PROTOCOL)


def _class(cls: type) -> Any:
    """Pickles a class as pickle would (by name), but the scenario's Struct
    type by what makes it (`scenario_type`): with plugin agents it is a
    class built at run time, not importable by name."""
    if cls is not scn.Scenario and isinstance(cls, type) and issubclass(cls, scn.Scenario):
        return scn.scenario_type, ()
    return cls.__qualname__


class _Reducers(dict):
    """`_dumps`' dispatch table: type -> how to pickle its instances, decided
    at a type's first instance and kept. Instances of a plain Python class
    (no ``__slots__``: its attributes in its own dict) pickled the default
    way: `_plain`; classes whose metaclass is not ``type``: `_class`; anything
    else: ``obj.__reduce_ex__(PROTOCOL)`` called from C, which is what the
    pickler itself does (a type in copyreg's table keeps its reducer)."""

    def __missing__(self, tp: type) -> Any:
        if issubclass(tp, type):
            reducer = _class
        elif tp.__dictoffset__ < 0 and tp.__reduce_ex__ is object.__reduce_ex__:
            reducer = _plain
        else:
            reducer = operator.methodcaller("__reduce_ex__", PROTOCOL)
        self[tp] = reducer
        return reducer


_REDUCERS = _Reducers(copyreg.dispatch_table)


def _dumps(obj: Any) -> bytes:
    """The pickle of ``obj``, which goes on running afterwards as fast as before.

    Pickling an object reads its ``__dict__``, and CPython 3.11 then keeps
    its attributes in a dict that its fast attribute reads do not handle:
    every later ``self.x`` takes the slow generic path (about 3 % of a run's
    instructions, agents, loop and venue alike). A plain copy of that dict
    in its place is one those reads handle; it holds the same attributes.

    The pickler finds those objects through its dispatch table
    (`_Reducers`), so it calls Python code only for them (~40 a day at the
    baseline) and for classes, not for each of the ~2,600 objects it meets:
    a ``reducer_override`` doing that was 20-40 % of the pickling. The bytes
    are the same."""
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=PROTOCOL)
    pickler.dispatch_table = _REDUCERS
    _MET.clear()
    try:
        pickler.dump(obj)
        for o in _MET:
            object.__setattr__(o, "__dict__", dict(o.__dict__))
    finally:
        _MET.clear()
    return buf.getvalue()


def save(sim: Any, out: Path) -> None:
    """Checkpoint ``sim`` (at a day boundary) into ``out``: pickled now, and
    the file written once its writer's day parts are finished and its
    journal synced (on the writer's thread: `RunWriter.wait` waits for it)."""
    writer, progress = sim.writer, sim.on_progress
    try:
        sim.writer, sim.on_progress = None, None
        state = _dumps(sim)
    finally:
        sim.writer, sim.on_progress = writer, progress
    writer.end_part(then=partial(_write, out, writer.journal.position(), state))


def _write(out: Path, position: Position, state: bytes, parts: int, digests: dict[str, str]) -> None:
    cp = Checkpoint(VERSION, parts, position, state, digests)
    write_atomic(out / FILE, pickle.dumps(cp, protocol=PROTOCOL))


def load(out: Path) -> tuple[Any, Checkpoint]:
    """The simulation and checkpoint saved in ``out``."""
    path = out / FILE
    if not path.exists():
        if (out / "summary.json").exists():
            raise InputError(f"{out}: this run finished (summary.json is there); nothing to resume")
        if (out / ".parts").is_dir() and not (out / "journal").exists():
            raise InputError(
                f"{out}: written with [output] journal = false, so it has no journal or checkpoint "
                f"to resume from; run the scenario again (--overwrite)"
            )
        raise InputError(f"{out}: no {FILE} here: not a run directory cfx can resume")
    try:
        cp = pickle.loads(path.read_bytes())
        if not isinstance(cp, Checkpoint) or cp.version != VERSION:
            raise ValueError("unknown checkpoint format")
        sim = pickle.loads(cp.sim)
    except Exception as e:  # noqa: BLE001  (a checkpoint from another cfx version, or damaged)
        raise InputError(f"{path}: cannot resume from it ({type(e).__name__}: {e})") from None
    return sim, cp


def remove(out: Path) -> None:
    (out / FILE).unlink(missing_ok=True)
