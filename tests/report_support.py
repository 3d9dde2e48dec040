"""Tiny real runs for the report tests (tests/test_report*.py share them
through the session fixture ``runs`` in conftest.py)."""

from __future__ import annotations

import re
from pathlib import Path

from cfx.sim import scenario as scn
from cfx.sim.run import run_scenario

REPO = Path(__file__).resolve().parents[1]
BASELINE = REPO / "cfx" / "scenarios" / "baseline.toml"
# run A's shocks, inside its two-hour session: every kind of mark the report draws
SHOCKS = """
[[shocks]]
type = "fat-finger"
day = 0
time = "14:20"
qty = 200

[[shocks]]
type = "kill-switch"
day = 0
time = "14:40"
minutes = 10

[[shocks]]
type = "mm-withdrawal"
day = 0
time = "15:05"
minutes = 20
"""


def tiny_toml(tmp: Path, name: str, shocks: str = "", **subs: str) -> Path:
    """baseline.toml shrunk: one day of a two-hour session, a dozen agents."""
    text = BASELINE.read_text()
    text = re.sub(r"(?m)^days = \d+", "days = 1", text)
    text = re.sub(r'(?m)^open = "[^"]*"', 'open = "14:00"', text)
    counts = iter(["2", "6", "1", "1", "1", "1", "1"])
    text = re.sub(r"(?m)^count = \d+", lambda m: f"count = {next(counts, '1')}", text)
    text = re.sub(r'(?m)^name = "baseline"', f'name = "{name}"', text)
    for old, new in subs.items():
        text = text.replace(old, new)
    path = tmp / f"{name}.toml"
    path.write_text(text + shocks)
    return path


def make_runs(tmp: Path) -> dict[str, Path]:
    """Run A (with a fat finger, a kill switch and a withdrawal) and run B
    (no shocks; tighter price bands and a larger taker fee)."""
    a = tmp / "tiny_a"
    run_scenario(scn.load(tiny_toml(tmp, "tiny_a", SHOCKS)), a, progress=False)
    b = tmp / "tiny_b"
    sc_b = scn.load(
        tiny_toml(
            tmp, "tiny_b", **{"band-pct = 15.0": "band-pct = 5.0", "taker-fee = 1_000_000": "taker-fee = 2_000_000"}
        )
    )
    run_scenario(sc_b, b, progress=False)
    return {"a": a, "b": b, "tmp": tmp}
