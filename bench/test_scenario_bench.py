"""The main job end to end: `cfx/scenarios/baseline.toml` (20 trading days, 50
agents, about a million engine messages), one round. The figure to watch is
``extra_info["engine_messages_per_s"]``; the issue's bar is the whole run
under 60 s on a 2-core machine."""

from __future__ import annotations

from pathlib import Path

from cfx.sim import scenario as scn
from cfx.sim.run import run_scenario

BASELINE = Path(__file__).resolve().parents[1] / "cfx" / "scenarios" / "baseline.toml"


def test_baseline_scenario(benchmark, tmp_path):
    sc = scn.load(BASELINE)
    summary = benchmark.pedantic(run_scenario, args=(sc, tmp_path / "run"), kwargs={"progress": False},
                                 rounds=1, iterations=1)
    seconds = benchmark.stats.stats.mean
    benchmark.extra_info["engine_messages"] = summary["engine_messages"]
    benchmark.extra_info["engine_messages_per_s"] = round(summary["engine_messages"] / seconds)
    assert summary["engine_messages"] >= 1_000_000
