"""The Python API (cfx.load / run / open_run / Run), overrides by dotted
path, pluggable agents and the CLI conventions around them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

import cfx
from cfx.cli import main
from cfx.errors import InputError
from cfx.sim import overrides

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "tests" / "data" / "sim_small.toml"


@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> cfx.Run:
    return cfx.run(cfx.load(SMALL), out=tmp_path_factory.mktemp("run"), progress=False)


def test_load_a_shipped_scenario_by_name_with_overrides():
    sc = cfx.load("baseline", **{"calendar.days": 2, "agents[0].quote-lots": 3, "rules.band-pct": 7.5})
    assert sc.name == "baseline"
    assert sc.calendar.days == 2
    assert sc.agents[0].quote_lots == 3
    assert sc.rules.band_pct == 7.5
    assert (
        cfx.load("baseline.toml").calendar.days == cfx.load(ROOT / "cfx" / "scenarios" / "baseline.toml").calendar.days
    )


def test_bad_override_names_its_path():
    with pytest.raises(InputError, match=r"agents\[0\]\.half-spread-ticks: Expected `float` > 0.0"):
        cfx.load("baseline", **{"agents[0].half-spread-ticks": -1})
    with pytest.raises(InputError, match=r"calendar\.day_s: no such key|unknown field `day_s`"):
        cfx.load("baseline", **{"calendar.day_s": 1})
    with pytest.raises(InputError, match=r"agents has \d+ entries, no \[99\]"):
        cfx.load("baseline", **{"agents[99].count": 1})
    with pytest.raises(InputError, match="no such scenario file, nor a shipped scenario"):
        cfx.load("no_such_scenario")


def test_set_assignments_parse_as_toml_values():
    assert overrides.parse_assignment("rules.band-pct=10") == ("rules.band-pct", 10)
    assert overrides.parse_assignment("rules.band-moving=true") == ("rules.band-moving", True)
    assert overrides.parse_assignment("products.settlement=twap_window") == ("products.settlement", "twap_window")
    assert overrides.parse_assignment('name="x y"') == ("name", "x y")
    with pytest.raises(InputError, match="expected PATH=VALUE"):
        overrides.parse_assignment("rules.band-pct")


def test_run_tables_have_times_dollars_and_agent_types(small_run):
    t = small_run.trades()
    assert len(t) == small_run.summary["trades"]
    assert isinstance(t["time"].dtype, pd.DatetimeTZDtype) and str(t["time"].dt.tz) == "UTC"
    assert t["time"].is_monotonic_increasing and t["time"].iloc[0].year == 2027
    assert (t["price_usd"] - t["price_ticks"] * 0.01).abs().max() < 1e-9
    agents = small_run.agents()
    kinds = dict(zip(agents["account"], agents["agent_type"]))
    assert (t["maker_type"] == t["maker_account"].map(kinds)).all()
    assert set(t["taker_type"]) <= set(agents["agent_type"])
    acc = small_run.accounts()
    assert (acc["collateral_usd"] == acc["collateral_usd_micro"] / 1e6).all()
    assert "agent_type" in acc
    assert small_run.settlements()["price_usd"].notna().all()
    assert (small_run.fixings()["value_usd"] > 0).all()
    b = small_run.book()
    assert {"time", "bid_usd", "ask_usd"} <= set(b.columns)


def test_events_filter_by_type_and_decode(small_run):
    ev = small_run.events(types=["Trade"])
    assert set(ev["type"]) == {"Trade"}
    assert len(ev) == small_run.summary["trades"]
    first = ev.iloc[0]
    assert first["details"]["aggressor"] in ("buy", "sell") and first["details"]["maker_account"] > 0
    assert first["price_usd"] == first["price_ticks"] * 0.01
    rested = small_run.events(types="OrderRested")
    assert (rested["details"].map(lambda d: d["open_qty"]) <= rested["qty_lots"]).all()


def test_open_run_reads_the_same_run(small_run):
    again = cfx.open_run(small_run.path)
    assert again.summary == small_run.summary
    with pytest.raises(InputError, match="not a run directory"):
        cfx.open_run(small_run.path / "nope")


def _readme_agent_module(tmp_path: Path) -> str:
    """The README's "Writing an agent" example, exactly as written there."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Writing an agent") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    (tmp_path / "readme_agent.py").write_text(code)
    return "readme_agent"


def test_readme_agent_example_runs_as_written_via_plugin(tmp_path, monkeypatch, capsys):
    module = _readme_agent_module(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))  # cfx run puts the current folder on it
    monkeypatch.chdir(tmp_path)  # the module sits in the current folder, not on the Python path
    sc = tmp_path / "buyer.toml"
    sc.write_text(
        SMALL.read_text()
        + textwrap.dedent("""
        [[agents]]
        type = "minute_buyer"
        lots = 2
    """)
    )
    out = tmp_path / "run"
    assert main(["run", str(sc), "--out", str(out), "--plugin", module, "--quiet", "--no-report"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["volume_by_agent_type"].get("minute_buyer", 0) > 0  # it traded


def test_unknown_plugin_is_one_line_exit_2(capsys):
    assert main(["run", "baseline", "--plugin", "no_such_module_xyz"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--plugin no_such_module_xyz: cannot import" in err


def test_cli_scenarios_schema_version_and_python_dash_m(capsys):
    assert main(["scenarios"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {"baseline", "price_crash"} <= {r["name"] for r in rows} and all(r["question"] for r in rows)
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "Scenario" in schema["$defs"]
    proc = subprocess.run([sys.executable, "-m", "cfx", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("cfx ")


def test_cli_set_overrides_and_runs_by_name(tmp_path, capsys):
    out = tmp_path / "r"
    assert (
        main(
            [
                "run",
                "baseline",
                "--out",
                str(out),
                "--quiet",
                "--no-report",
                "--set",
                "calendar.days=1",
                "--set",
                "agents[1].count=5",
            ]
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["days"] == 1 and summary["scenario"] == "baseline"
    assert main(["run", "baseline", "--set", "calendar.days=0"]) == 2
    assert "calendar.days" in capsys.readouterr().err


def test_scenario_reference_is_current():
    """docs/reference.md is generated from the schema; regenerate it with
    `python -m cfx.reference > docs/reference.md` when a key changes."""
    from cfx import reference

    assert (ROOT / "docs" / "reference.md").read_text() == reference.render(), (
        "docs/reference.md is stale: run `python -m cfx.reference > docs/reference.md`"
    )


def test_quickstart_example_runs(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py"), "--days", "1", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    bought = dict(re.findall(r"the (\w+ buyer) bought (\d+) lots", proc.stdout))
    assert int(bought["dip buyer"]) > 0 and int(bought["level buyer"]) > 0, proc.stdout  # both agents traded
    assert (tmp_path / "compare.html").stat().st_size > 10_000


def test_run_facts_and_report(small_run, tmp_path):
    facts = small_run.facts()
    assert facts["passed"] + facts["failed"] == len(facts["facts"]) > 0
    page = small_run.report(tmp_path / "r.html")
    assert page.read_text().count("Stylized facts") >= 1
