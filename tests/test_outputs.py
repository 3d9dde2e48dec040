"""What a run writes (issue 16): typed tables with units in their names and
the schema version in their metadata, every column documented in
docs/outputs.md, and ``[output] journal`` / ``events`` that change what is
kept but never the run."""

from __future__ import annotations

import json
import re
from pathlib import Path

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import cfx
from cfx import sweep, tables
from cfx.errors import InputError
from cfx.sim import checkpoint
from cfx.sim import outputs
from cfx.sim import scenario as scn
from cfx.sim.run import resume_run, run_scenario
from cli_support import run_cli

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
SMALL = DATA / "sim_small.toml"


def _with_output(**output) -> scn.Scenario:
    sc = scn.load(SMALL)
    return msgspec.structs.replace(sc, output=msgspec.structs.replace(sc.output, **output))


@pytest.fixture(scope="module")
def otc_day(tmp_path_factory) -> Path:
    """One day of the OTC test scenario: it writes every table there is."""
    out = tmp_path_factory.mktemp("outputs") / "otc"
    sc = cfx.load(DATA / "otc_small.toml", **{"calendar.days": 1})
    run_scenario(sc, out, progress=False)
    return out


@pytest.fixture(scope="module")
def full(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("outputs") / "full"
    return out, run_scenario(scn.load(SMALL), out, progress=False)


def documented_columns() -> dict[str, list[str]]:
    """docs/outputs.md's tables: ``## NAME.parquet`` and the first cell of
    each row of the first table after it (the columns)."""
    out: dict[str, list[str]] = {}
    current, started = None, False
    for line in (ROOT / "docs" / "outputs.md").read_text().splitlines():
        m = re.match(r"## (\w+)\.parquet$", line)
        if m:
            current, started = out.setdefault(m.group(1), []), False
        elif current is not None and line.startswith("|"):
            started = True
            cell = re.match(r"\| `(\w+)` \|", line)
            if cell:
                current.append(cell.group(1))
        elif started:
            current = None
    return out


def test_docs_outputs_lists_every_column_of_every_table_a_run_writes(otc_day):
    written = {f.stem: pq.read_schema(f).names for f in sorted(otc_day.glob("*.parquet"))}
    documented = documented_columns()
    assert set(written) == set(documented)
    for name, columns in written.items():
        assert documented[name] == columns, name  # the same columns, in the file's order


def test_every_table_has_typed_times_unit_names_and_the_schema_version(otc_day):
    for f in sorted(otc_day.glob("*.parquet")):
        schema = pq.read_schema(f)
        assert tables.version(f) == tables.SCHEMA_VERSION, f.name
        assert schema.metadata[tables.TABLE_KEY] == f.stem.encode()
        for field in schema:
            assert field.name not in ("ts", "price", "qty", "value", "amount", "collateral"), (f.name, field.name)
            if field.name == "time" or field.name.endswith("_time"):
                assert field.type == tables.TIME, (f.name, field.name)
            if pa.types.is_string(field.type):
                assert field.name == "details", (f.name, field.name)  # every other string is dictionary-encoded
            if field.name.endswith(("_ticks", "_lots", "_usd_micro")):
                assert field.type == pa.int64(), (f.name, field.name)


def test_one_fixings_schema_for_a_run_and_cfx_index(otc_day, tmp_path, capsys):
    from cfx.index import FIXING_COLUMNS

    assert tuple(pq.read_schema(otc_day / "fixings.parquet").names) == FIXING_COLUMNS
    fx = pq.read_table(otc_day / "fixings.parquet").to_pylist()
    assert all(r["value_usd"] == r["value_usd_micro"] / 1e6 for r in fx)
    assert {r["flag"] for r in fx} <= {"ok", "too_few_contributors", "stale", "no_quotes"}
    assert any(r["contributors"] > 0 for r in fx)  # the index build's contributor counts are carried


@pytest.mark.parametrize("events, kept, absent", [
    ("trades-only", ["trades.parquet", "book_top.parquet"], ["events.parquet", "journal"]),
    ("none", ["book_top.parquet"], ["events.parquet", "trades.parquet", "journal"]),
])
def test_compact_outputs_change_what_is_kept_not_the_run(full, tmp_path, capsys, events, kept, absent):
    whole, summary = full
    out = tmp_path / "compact"
    assert run_scenario(_with_output(events=events, journal=False), out, progress=False) == summary
    for name in kept:
        assert pq.read_table(out / name).equals(pq.read_table(whole / name)), name
    for name in absent:
        assert not (out / name).exists(), name
    assert not (out / ".parts").exists() and not (out / "checkpoint.pkl").exists()
    with pytest.raises(InputError, match="kept no event log"):
        cfx.open_run(out).events()
    code, _, err = run_cli(capsys, "replay", out / "journal")
    assert code == 2 and "written with [output] journal = false" in err.splitlines()[-1]


def test_cfx_run_without_trades_writes_no_report_and_says_so(full, tmp_path, capsys):
    out = tmp_path / "none"
    code, stdout, err = run_cli(capsys, "run", SMALL, "--out", out, "--quiet", "--set", "output.events=none")
    assert code == 0 and json.loads(stdout)["run_hash"] == full[1]["run_hash"]
    assert "report: none" in err and not (out / "report.html").exists()


@pytest.mark.parametrize("sets, report", [
    (["output.events=trades-only"], False),  # compact: no report unless asked for
    (["output.events=trades-only", "output.report=true"], True),
    (["output.report=false"], False),
])
def test_cfx_run_writes_the_report_for_full_runs_or_when_asked(tmp_path, capsys, sets, report):
    out = tmp_path / "r"
    argv = ["run", SMALL, "--out", out, "--quiet"]
    for s in sets:
        argv += ["--set", s]
    code, _, err = run_cli(capsys, *argv)
    assert code == 0 and (out / "report.html").exists() == report
    assert ("report: none (a compact run" in err) == (not report)


def test_the_report_of_a_run_without_an_event_log_says_the_heatmap_has_no_data(full, tmp_path):
    from cfx import report

    out = tmp_path / "trades"
    run_scenario(_with_output(events="trades-only"), out, progress=False)
    run = report.load_run(out)
    shown = report.plot_heatmap(run)  # a sentence instead of a plot
    assert isinstance(shown, str) and "kept no event log" in shown


def _interrupt_after(monkeypatch, target, name: str, calls: int) -> None:
    """Make ``target.name`` raise KeyboardInterrupt on its ``calls``-th call (after doing its work)."""
    original = getattr(target, name)
    seen = []

    def wrapped(*args, **kwargs):
        result = original(*args, **kwargs)
        seen.append(1)
        if len(seen) == calls:
            raise KeyboardInterrupt
        return result

    monkeypatch.setattr(target, name, wrapped)


def test_a_run_without_an_event_log_resumes_to_the_same_hash_from_its_journal(full, tmp_path, monkeypatch):
    _, summary = full
    out = tmp_path / "killed"
    _interrupt_after(monkeypatch, checkpoint, "save", 2)  # after day 1's checkpoint
    with pytest.raises(KeyboardInterrupt):
        run_scenario(_with_output(events="trades-only"), out, progress=False)
    monkeypatch.undo()
    assert (out / "checkpoint.pkl").exists() and not (out / "summary.json").exists()
    assert resume_run(out, progress=False) == summary  # the hash rebuilt by replaying day 1's journal


def test_a_run_without_a_journal_cannot_be_resumed(tmp_path, monkeypatch, capsys):
    out = tmp_path / "killed"
    _interrupt_after(monkeypatch, outputs.RunWriter, "end_part", 2)  # after day 1
    with pytest.raises(KeyboardInterrupt):
        run_scenario(_with_output(journal=False), out, progress=False)
    monkeypatch.undo()
    assert not (out / "checkpoint.pkl").exists() and not (out / "journal").exists()
    code, _, err = run_cli(capsys, "run", "--resume", out, "--quiet")
    assert code == 2 and "journal = false" in err.splitlines()[-1]


def test_sweeps_write_the_compact_outputs_unless_told_otherwise(tmp_path):
    plan = sweep.load(DATA / "sweep_small.toml")
    assert {(t.scenario["output"]["journal"], t.scenario["output"]["events"]) for t in plan.tasks} == {
        (False, "trades-only")}
    text = (DATA / "sweep_small.toml").read_text().replace("[grid]", '[set]\n"output.events" = "full"\n\n[grid]')
    (tmp_path / "sweep_base.toml").write_text((DATA / "sweep_base.toml").read_text())
    (tmp_path / "full.toml").write_text(text)
    told = sweep.load(tmp_path / "full.toml")
    assert {t.scenario["output"]["events"] for t in told.tasks} == {"full"}
    assert [t.key for t in told.tasks] == [t.key for t in plan.tasks]  # what a run writes is not part of its key


def test_the_output_keys_are_typed(tmp_path, capsys):
    with pytest.raises(InputError, match="output.events"):
        cfx.load(SMALL, **{"output.events": "some"})
    with pytest.raises(InputError, match="output.journal"):
        cfx.load(SMALL, **{"output.journal": "no"})
    assert json.loads(json.dumps(msgspec.to_builtins(cfx.load(SMALL).output))) == {
        "book-top-interval-s": 60, "journal": True, "events": "full", "report": None}
