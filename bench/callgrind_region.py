"""Count the instructions of a replay's timed region only, for a deterministic A/B.

A shared machine's wall clock is too noisy to see a 1% change; callgrind's
instruction count is not. This runs the timed part inside `operator.call`,
so that ``--toggle-collect=_operator_call`` counts just it: the yardstick's
``run(msgs)`` (after its load), or each `Venue.apply_batch` of ``cfx
replay W --engine python`` (after the CSV is parsed; what its timer covers
but the clock reads). Divide the total by the messages for instructions
per message:

    valgrind --tool=callgrind --toggle-collect=_operator_call \\
        --callgrind-out-file=cg.out .venv/bin/python bench/callgrind_region.py cfx W.csv
    grep -E '^(summary|totals):' cg.out

usage: callgrind_region.py cfx WORKLOAD.csv | callgrind_region.py yardstick WORKLOAD.csv YARDSTICK.py
"""

from __future__ import annotations

import gc
import importlib.util
import operator
import sys


def main(argv: list[str]) -> None:
    which, workload = argv[0], argv[1]
    if which == "yardstick":
        if len(argv) < 3:
            sys.exit("callgrind_region.py yardstick WORKLOAD.csv YARDSTICK.py: the yardstick's path is needed")
        path = argv[2]
        spec = importlib.util.spec_from_file_location("yardstick", path)
        yardstick = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(yardstick)
        msgs = yardstick.load(workload)
        gc.freeze()  # as the yardstick's main does before its clock starts
        fills = operator.call(yardstick.run, msgs)
        print(f"{len(msgs)} messages, {len(fills)} fills")
        return
    from cfx.cli import main as cfx_main
    from cfx.venue import Venue

    apply_batch = Venue.apply_batch
    Venue.apply_batch = lambda venue, cmds: operator.call(apply_batch, venue, cmds)
    sys.exit(cfx_main(["replay", workload, "--engine", "python"]))


if __name__ == "__main__":
    main(sys.argv[1:])
