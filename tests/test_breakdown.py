"""bench/breakdown.py charges each py-spy sample to the innermost cfx frame."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "breakdown.py"


def load():
    spec = importlib.util.spec_from_file_location("breakdown", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_sample_counts_for_the_innermost_cfx_frame():
    b = load()
    raw = "\n".join(
        [
            "<module> (cfx:6);main (cfx/cli.py:239);Simulation._run_until (cfx/sim/loop.py:574);"
            "MarketMaker._requote (cfx/agents/market_maker.py:519);AgentContext.quote (cfx/sim/loop.py:861) 3",
            "<module> (cfx:6);Simulation.send (cfx/sim/loop.py:290);Journal.write (cfx/journal.py:80) 2",
            "<module> (cfx:6);RunWriter.flush (cfx/sim/outputs.py:94);write_table (pyarrow/parquet/core.py:1200) 4",
            "<module> (cfx:6);main (cfx/cli.py:239);_find_and_load (<frozen importlib._bootstrap>:1178) 1",
            "<module> (/usr/lib/python3.11/runpy.py:88) 5",
            "",
        ]
    )
    got = b.charge(raw)
    assert got == {
        "sim loop: heap, latency, fan-out, tapes": 3,
        "journal": 2,
        "outputs and checkpoints": 4,
        b.IMPORTS: 1,
        b.OUTSIDE: 5,
    }


def test_a_module_belongs_to_the_first_part_naming_it():
    b = load()
    assert b.part_of("cfx/sim/loop.py") == "sim loop: heap, latency, fan-out, tapes"
    assert b.part_of("cfx/sim/outputs.py") == "outputs and checkpoints"  # not the sim loop: cfx/sim/ is split
    assert b.part_of("cfx/core/_orderbook.pyx") == "engine and book"
    assert b.part_of("cfx/clearing/house.py") == "clearing (risk gate, positions, margin)"
    assert b.part_of("cfx/sim/run.py") == "setup, summary and the rest of cfx"  # the catch-all, last
    assert b.part_of("numpy/_core/fromnumeric.py") is None


@pytest.mark.skipif(
    shutil.which("py-spy", path=str(Path(sys.executable).parent)) is None,
    reason="py-spy is not installed in this environment",
)
def test_breakdown_of_a_one_day_run(capsys):
    b = load()
    # the Python agents: py-spy sees no frame of a compiled one (its time is its caller's), and with the
    # maker, the noise and the value traders compiled those left are ~1 % of a day, at times no sample
    code = b.main(["baseline", "--days", "1", "--engine", "python", "--json"])
    if code == 2 and "failed" in capsys.readouterr().err:
        pytest.skip("py-spy cannot sample a child process here (ptrace not permitted)")
    out = capsys.readouterr().out
    assert code == 0
    line = json.loads(out)
    assert line["days"] == 1 and line["engine_messages"] > 0
    assert abs(sum(line["share_pct"].values()) - 100) < 1
    assert "agents' decisions" in line["share_pct"]


@pytest.mark.skipif(
    shutil.which("py-spy", path=str(Path(sys.executable).parent)) is None,
    reason="py-spy is not installed in this environment",
)
def test_a_scenario_that_does_not_run_is_one_line_and_exit_2(capsys):
    # py-spy itself exits 0 when the run it samples fails: the tool must notice
    b = load()
    code = b.main(["no-such-scenario", "--days", "1"])
    err = capsys.readouterr().err
    assert code == 2
    if "no such scenario" not in err:
        pytest.skip(f"py-spy cannot sample a child process here: {err.strip()}")
    assert err.startswith("bench/breakdown.py: the run failed: ") and err.count("\n") == 1
    assert "no-such-scenario" in err


def test_a_background_thread_is_counted_apart_from_the_run():
    """With ``--threads``: the main thread's samples (named MainThread, or
    not yet named) are the run's parts; another thread's, the Parquet
    appends beside the run, are `BACKGROUND`, not outputs."""
    b = load()
    raw = "\n".join(
        [
            "thread (7): MainThread;<module> (cfx:6);Simulation.send (cfx/sim/loop.py:290);"
            "Journal.write (cfx/journal.py:80) 2",
            "thread (7);<module> (cfx:6);_find_and_load (<frozen importlib._bootstrap>:1178) 1",
            "thread (9): cfx-join_0;_append (cfx/sim/outputs.py:199);write_table (pyarrow/parquet/core.py:1200) 4",
        ]
    )
    assert b.charge(raw) == {"journal": 2, b.IMPORTS: 1, b.BACKGROUND: 4}
