"""Where a scenario run's wall time goes, by part of cfx.

    python bench/breakdown.py [SCENARIO] [--days N] [--engine python|compiled] [--json]

Runs ``cfx run SCENARIO`` (default: baseline, everything else as the file
says) under py-spy, sampling its stack 250 times a second from outside
the process, and charges each sample to the innermost cfx frame on the
stack: time in numpy, pyarrow or the standard library counts for the cfx
module that called it. Prints the run's engine messages per second
(``timing.json``) and a Markdown table of shares by part (`PARTS`). #19
asks for this breakdown before and after each round of work on the
scenario loop.

Why py-spy: cProfile and pyinstrument hook every call, which inflates
call-heavy code (the agents, the loop) two- to threefold; a sampling
thread inside the process lands where the GIL is let go, which is mostly
the journal's write. py-spy reads the stack from another process
(``--nonblocking``: without pausing the run, which over-counts system
calls), so nothing is inflated. Shares are good to a few per cent: on
the 5-day baseline they agreed within 5 points with timers put around
`Venue.apply`, `Journal.write` and the run writer's methods.

The shares are of the main thread's samples: its time is the run's wall
time. The run writer's background thread (`cfx.sim.outputs`, appending
finished day parts to the Parquet files) runs beside it on a second
core; its samples are counted apart (`BACKGROUND`, as a per cent of the
main thread's), not as a part of the run's time. Counted in, as they
were before, they made the outputs look a third bigger than they are.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

# part -> module prefixes (the first that matches wins, so the catch-all is last)
PARTS: dict[str, tuple[str, ...]] = {
    "agents' decisions": ("cfx/agents/",),
    "sim loop: heap, latency, fan-out, tapes": (
        "cfx/sim/loop.py",
        "cfx/sim/participant.py",
        "cfx/sim/tape.py",
        "cfx/sim/information.py",
        "cfx/sim/windows.py",
        "cfx/sim/clock.py",
        "cfx/sim/perpetual.py",
        "cfx/sim/otc_desk.py",
        "cfx/sim/liquidation.py",
        "cfx/sim/shocks.py",
    ),
    "venue pipeline": ("cfx/venue.py",),
    "journal": ("cfx/journal.py",),
    "engine and book": (
        "cfx/engine.py",
        "cfx/calls.py",
        "cfx/book.py",
        "cfx/validation.py",
        "cfx/protections.py",
        "cfx/session.py",
        "cfx/auction.py",
        "cfx/batch.py",
        "cfx/core/",
    ),
    "clearing (risk gate, positions, margin)": ("cfx/clearing/",),
    "outputs and checkpoints": (
        "cfx/sim/outputs.py",
        "cfx/tables.py",
        "cfx/sim/checkpoint.py",
        "cfx/sim/rundir.py",
        "cfx/writes.py",
    ),
    "index and fixings": ("cfx/index/",),
    "OTC": ("cfx/otc/",),
    "setup, summary and the rest of cfx": ("cfx/",),
}
IMPORTS = "imports"
OUTSIDE = "outside cfx (interpreter start)"
BACKGROUND = "background threads (beside the run)"
_FILE = re.compile(r"\((?:[^()]*/)?(cfx/[^:()]+):\d+\)")
_THREAD = re.compile(r"thread \((\d+)\)(?:: (.*))?")


def part_of(path: str) -> str | None:
    """The part a module path (``cfx/sim/loop.py``) belongs to, or None."""
    for part, prefixes in PARTS.items():
        if path.startswith(prefixes):
            return part
    return None


def charge(raw: str) -> Counter:
    """Samples per part from py-spy's raw (collapsed) output: one stack a
    line, ``frame;frame;... COUNT``, outermost first, with ``--threads``
    its thread first (``thread (TID): NAME``). A stack inside an import
    counts as `IMPORTS`; one of a thread other than the main one as
    `BACKGROUND` (the main thread is the one named MainThread, and its
    samples before it was named)."""
    stacks: list[tuple[str | None, str, int]] = []  # (thread id or None, stack, samples)
    names: dict[str, str | None] = {}  # thread id -> its name (None: not named yet)
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        first, _, rest = stack.partition(";")
        thread = _THREAD.fullmatch(first)
        if thread is None:
            stacks.append((None, stack, int(count)))
        else:
            tid, name = thread.groups()
            if name is not None or tid not in names:
                names[tid] = name
            stacks.append((tid, rest, int(count)))
    main = next((tid for tid, name in names.items() if name == "MainThread"), None)
    samples: Counter = Counter()
    for tid, stack, count in stacks:
        if main is not None and tid is not None and tid != main:
            samples[BACKGROUND] += count
            continue
        part = OUTSIDE
        if "<frozen importlib" in stack:
            part = IMPORTS
        else:
            for frame in reversed(stack.split(";")):
                m = _FILE.search(frame)
                if m and (found := part_of(m.group(1))) is not None:
                    part = found
                    break
        samples[part] += count
    return samples


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenario", nargs="?", default="baseline", help="a shipped scenario's name or a TOML path")
    ap.add_argument("--days", type=int, help="override calendar.days")
    ap.add_argument("--engine", choices=["python", "compiled"], help="the books' engine (CFX_ENGINE)")
    ap.add_argument("--json", action="store_true", help="one JSON line instead of the table")
    args = ap.parse_args(argv)
    spy = shutil.which("py-spy", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    if spy is None:
        print("bench/breakdown.py: py-spy is not installed (pip install py-spy)", file=sys.stderr)
        return 2
    env = dict(os.environ, **({"CFX_ENGINE": args.engine} if args.engine else {}))
    with tempfile.TemporaryDirectory() as tmp:
        run = [sys.executable, "-m", "cfx", "run", args.scenario, "--out", f"{tmp}/run", "--quiet", "--no-report"]
        if args.days:
            run += ["--set", f"calendar.days={args.days}"]
        spied = subprocess.run(
            [spy, "record", "--nonblocking", "--threads", "-r", "250", "-f", "raw", "-o", f"{tmp}/raw", "--", *run],
            env=env,
            capture_output=True,
            text=True,
        )
        if spied.returncode != 0 or not Path(f"{tmp}/run/summary.json").exists():  # py-spy exits 0 for a failed run
            said = [line for line in spied.stderr.splitlines() if line.strip() and not line.startswith("py-spy>")]
            print(f"bench/breakdown.py: the run failed: {said[-1] if said else 'no message'}", file=sys.stderr)
            return 2
        summary = json.loads(Path(f"{tmp}/run/summary.json").read_text())
        timing = json.loads(Path(f"{tmp}/run/timing.json").read_text())
        samples = charge(Path(f"{tmp}/raw").read_text())
    background = samples.pop(BACKGROUND, 0)
    total = sum(samples.values()) or 1
    shares = {part: round(100 * n / total, 1) for part, n in samples.most_common()}
    head = {
        "scenario": summary["scenario"],
        "days": summary["days"],
        "engine": timing["engine"],
        "engine_messages": timing["engine_messages"],
        "wall_seconds": timing["wall_seconds"],
        "engine_messages_per_s": timing["engine_messages_per_s"],
        "run_hash": summary["run_hash"],
        "samples": total,
        "background_pct": round(100 * background / total, 1),
    }
    if args.json:
        print(json.dumps({**head, "share_pct": shares}))
        return 0
    print(
        f"{head['scenario']}, {head['days']} days, {head['engine']} books: {head['engine_messages']:,} engine "
        f"messages, {head['engine_messages_per_s']:,} per second of the run (timing.json); "
        f"run_hash {head['run_hash'][:8]}; {total:,} samples of the main thread\n"
    )
    print("| part | share |\n|---|---|")
    for part, share in shares.items():
        print(f"| {part} | {share:.1f} % |")
    print(f"\n{BACKGROUND}: {head['background_pct']:.1f} % of the main thread's samples besides")
    return 0


if __name__ == "__main__":
    sys.exit(main())
