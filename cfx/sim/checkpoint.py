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

import io
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
VERSION = 8
# 2: the day parts are Arrow IPC streams (.arrows), not Parquet; 3: participants keep their queued wake-up times;
# 4: the event heap holds int keys (`cfx.sim.loop.SEQ_BITS`), and a market maker's quoting state its side plans;
# 5: an agent's `Alarms` keeps its earliest deadline; 6: participants and their contexts live in cfx.sim.participant;
# 7: the sha256 of every finished day part (`Checkpoint.digests`); 8: the event heap is a `cfx.core.schedule` (the
# same pickle from either implementation)


class Checkpoint(msgspec.Struct, frozen=True):
    """What a run directory's checkpoint holds."""

    version: int
    parts: int  # finished day parts in RUN_DIR/.parts
    position: Position  # the journal after the last command of those days
    sim: bytes  # the pickled Simulation, without its writer and progress callback
    digests: dict[str, str]  # finished part file name -> sha256: resuming refuses parts that are not these


class _Pickler(pickle.Pickler):
    """Pickles the scenario's Struct type by what makes it (`scenario_type`):
    with plugin agents it is a class built at run time, not importable by name.
    It also lists the instances of plain Python classes it meets (``plain``, see `_dumps`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.plain: list = []

    def reducer_override(self, obj: Any) -> Any:
        if type(obj).__dictoffset__ < 0:  # a Python class without __slots__: its attributes live in its own dict
            self.plain.append(obj)
        elif isinstance(obj, type) and obj is not scn.Scenario and issubclass(obj, scn.Scenario):
            return scn.scenario_type, ()
        return NotImplemented


def _dumps(obj: Any) -> bytes:
    """The pickle of ``obj``, which goes on running afterwards as fast as before.

    Pickling an object reads its ``__dict__``, and CPython 3.11 then keeps
    its attributes in a dict that its fast attribute reads do not handle:
    every later ``self.x`` takes the slow generic path (about 3 % of a run's
    instructions, agents, loop and venue alike). A plain copy of that dict
    in its place is one those reads handle; it holds the same attributes."""
    buf = io.BytesIO()
    pickler = _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dump(obj)
    for o in pickler.plain:
        if type(o).__reduce_ex__ is object.__reduce_ex__:  # (not an Enum member: pickled by name, its dict untouched)
            object.__setattr__(o, "__dict__", dict(o.__dict__))
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
    write_atomic(out / FILE, pickle.dumps(cp, protocol=pickle.HIGHEST_PROTOCOL))


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
