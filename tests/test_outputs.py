"""What a run writes (issue 16): typed tables with units in their names and
the schema version in their metadata, every column documented in
docs/outputs.md, and ``[output] journal`` / ``events`` that change what is
kept but never the run."""

from __future__ import annotations

import hashlib
import json
import re
import typing
from pathlib import Path

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cfx
import cfx.types
from cfx import sweep, tables
from cfx.errors import InputError
from cfx.journal import Position
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


@pytest.mark.parametrize(
    "events, kept, absent",
    [
        ("trades-only", ["trades.parquet", "book_top.parquet"], ["events.parquet", "journal"]),
        ("none", ["book_top.parquet"], ["events.parquet", "trades.parquet", "journal"]),
    ],
)
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


@pytest.mark.parametrize(
    "sets, report",
    [
        (["output.events=trades-only"], False),  # compact: no report unless asked for
        (["output.events=trades-only", "output.report=true"], True),
        (["output.report=false"], False),
    ],
)
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
        (False, "trades-only")
    }
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
        "book-top-interval-s": 60,
        "journal": True,
        "events": "full",
        "report": None,
    }


# --------------------------------------------------------------------------- the event tables, cheaply built
# `RunWriter` builds the events table by attribute per event type and the run
# hash with one `encode_lines` a batch (issue 19). What it must keep: the
# columns `msgspec.to_builtins` of each event gave, ``details`` the JSON
# object of its other fields, the hash over each event's JSON line.


def _columns_as_before(events: list) -> dict[str, list]:
    """The events table's columns as cfx built them before issue 19: the
    reference the cheaper building is held to."""
    rows = msgspec.to_builtins(events)
    renamed = {"ts": "time", "price": "price_ticks", "qty": "qty_lots"}
    cols = {renamed.get(c, c): [r.get(c) for r in rows] for c in outputs.EVENT_COLUMNS}
    cols["type"] = [type(e).__name__ for e in events]
    cols["details"] = [
        msgspec.json.encode({f: r[f] for f in type(e).__struct_fields__ if f not in outputs.EVENT_COLUMNS}).decode()
        if set(type(e).__struct_fields__) - set(outputs.EVENT_COLUMNS)
        else None
        for e, r in zip(events, rows)
    ]
    return cols


def _trades_as_before(events: list) -> dict[str, list]:
    trades = [e for e in events if isinstance(e, cfx.types.Trade)]
    fields = ("seq", "ts", "series", "price", "qty", "maker_id", "taker_id", "maker_account", "taker_account")
    cols = {name: [getattr(t, f) for t in trades] for name, f in zip(outputs.TRADE_SCHEMA.names, fields)}
    cols["aggressor"] = [str(t.aggressor) for t in trades]
    return cols


BUILDERS = ("python", "compiled")
"""The events table's builders: the reference (`_EventLayouts._filled`) and
`cfx.sim._eventcols.EventColumns`, what a run takes when it is built."""


def _builder(name: str) -> None:
    if name == "compiled" and not outputs.eventcols_available():
        pytest.skip("the compiled events-table builder is not built")


def _write(events: list, out: Path, builder: str = "python") -> outputs.RunWriter:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CFX_ENGINE", "python" if builder == "python" else "auto")
        writer = outputs.RunWriter(out, journal=False)
    assert (writer._layouts._fast is not None) == (builder == "compiled")  # the builder asked for is the one used
    for start in range(0, len(events), 7):  # in uneven calls, as the loop sends them
        writer.write_events(events[start : start + 7])
    writer.close()
    return writer


def _assert_tables_as_before(events: list, out: Path, builder: str = "python") -> None:
    writer = _write(events, out, builder)
    lines = b"".join(cfx.types.encoder.encode(e) + b"\n" for e in events)
    assert writer.hash.hexdigest() == hashlib.sha256(lines).hexdigest()
    assert writer.event_count == len(events)
    table = pq.read_table(out / "events.parquet")
    expected = tables.table(_columns_as_before(events), outputs.EVENT_SCHEMA) if events else table.slice(0, 0)
    assert table.equals(expected)
    assert outputs.events_of(table) == events
    trades = pq.read_table(out / "trades.parquet")
    expected = tables.table(_trades_as_before(events), outputs.TRADE_SCHEMA)
    assert trades.to_pydict() == expected.to_pydict()
    assert trades.equals(expected) if len(expected) else len(trades) == 0  # the same dictionaries too


def _field(t: msgspec.inspect.Type) -> st.SearchStrategy:
    mi = msgspec.inspect
    if isinstance(t, mi.UnionType):
        return st.one_of(*map(_field, t.types))
    if isinstance(t, mi.NoneType):
        return st.none()
    if isinstance(t, mi.IntType):
        return st.integers(-(2**63), 2**63 - 1)  # the typed columns are int64
    if isinstance(t, mi.StrType):
        return st.text(st.characters(blacklist_categories=("Cs",)), max_size=8)  # newlines, quotes too
    if isinstance(t, mi.EnumType):
        return st.sampled_from(list(t.cls))
    if isinstance(t, mi.BoolType):
        return st.booleans()
    if isinstance(t, mi.DateType):
        return st.dates()
    raise AssertionError(f"no strategy for an event field of type {t}")  # a new field type: add it here


EVENT_TYPES = typing.get_args(cfx.types.Event)


def _event(tp: type) -> st.SearchStrategy:
    info = msgspec.inspect.type_info(tp)
    return st.builds(tp, **{f.name: _field(f.type) for f in info.fields})


any_event = st.one_of(*map(_event, EVENT_TYPES))


def test_every_event_type_is_covered_with_and_without_details():
    extra = {tp: set(tp.__struct_fields__) - set(outputs.EVENT_COLUMNS) for tp in EVENT_TYPES}
    assert any(extra.values()) and not all(extra.values())  # both kinds exist, so the tests below see both


@pytest.mark.parametrize("builder", BUILDERS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(any_event, max_size=40))
def test_the_event_tables_and_hash_are_as_before_for_any_mix_of_events(builder, events, tmp_path_factory):
    _builder(builder)
    _assert_tables_as_before(events, tmp_path_factory.mktemp("mix"), builder)


@pytest.mark.parametrize("builder", BUILDERS)
def test_the_event_tables_are_as_before_for_one_of_each_type_and_a_run(builder, otc_day, tmp_path):
    _builder(builder)
    one_of_each = [msgspec.convert(_example(tp), tp) for tp in EVENT_TYPES]
    _assert_tables_as_before(one_of_each, tmp_path / "each", builder)
    run = outputs.events_of(pq.read_table(otc_day / "events.parquet"))  # a run's events: many of one type in a row
    assert {type(e) for e in run} >= {cfx.types.Trade, cfx.types.OrderAccepted, cfx.types.LevelChanged}
    _assert_tables_as_before(run, tmp_path / "run", builder)


@pytest.mark.parametrize("builder", BUILDERS)
def test_the_event_tables_are_as_before_when_types_first_appear_in_later_batches(builder, tmp_path, monkeypatch):
    _builder(builder)
    monkeypatch.setattr(outputs, "BATCH_EVENTS", 3)  # a batch every few events: most types are new to a later one
    one_of_each = [msgspec.convert(_example(tp), tp) for tp in EVENT_TYPES]
    _assert_tables_as_before(one_of_each + one_of_each[::-1], tmp_path / "batches", builder)


def test_the_run_hash_read_while_the_run_goes_has_every_batch_written_so_far(tmp_path, monkeypatch):
    """The batches are hashed on the background thread: reading the hash waits for it."""
    monkeypatch.setattr(outputs, "BATCH_EVENTS", 2)
    events = [msgspec.convert(_example(tp), tp) for tp in EVENT_TYPES] * 50
    writer = outputs.RunWriter(tmp_path / "open", journal=False)
    expected = hashlib.sha256()
    try:
        for first in range(0, len(events), 2):
            writer.write_events(events[first : first + 2])  # a batch each time
            expected.update(cfx.types.encoder.encode_lines(events[first : first + 2]))
            assert writer.hash.hexdigest() == expected.hexdigest()
    finally:
        writer.close()
    assert writer.hash.hexdigest() == expected.hexdigest()


# The compiled builder (`cfx.sim._eventcols`) against the reference, array
# by array: the tables above hold both to the columns as they were built
# before; these say the compiled pass really took the batch (it leaves to
# the reference only what it does not read) and gave the reference's arrays.


def _both_filled(layouts: outputs._EventLayouts, events: list) -> tuple[tuple, tuple]:
    """The compiled builder's arrays and the reference's for ``events``, with
    one `tables.Words` (so the same string has the same code in both)."""
    fast = layouts._fast.fill(events)
    assert fast is not None, "the compiled builder left a batch of plain events to the reference"
    return fast, layouts._filled(events)


def _assert_same_arrays(fast: tuple, ref: tuple) -> None:
    typed, valid, kinds, details, has_details = fast
    assert len(typed) == len(valid) == len(outputs.EVENT_COLUMNS)
    for column, a, b, ok_a, ok_b in zip(outputs.EVENT_COLUMNS, typed, ref[0], valid, ref[1]):
        assert a.dtype == b.dtype and a.tolist() == b.tolist(), column
        assert (ok_a is None) == (ok_b is None), column
        if ok_a is not None:
            assert ok_a.dtype == ok_b.dtype and ok_a.tolist() == ok_b.tolist(), column
    assert kinds.dtype == ref[2].dtype and kinds.tolist() == ref[2].tolist()
    assert [type(d) for d in details] == [type(d) for d in ref[3]] and details == ref[3]
    assert has_details.dtype == ref[4].dtype and has_details.tolist() == ref[4].tolist()


@settings(max_examples=200, deadline=None)
@given(batches=st.lists(st.lists(any_event, max_size=30), min_size=1, max_size=4))
def test_the_compiled_builder_fills_the_arrays_the_reference_does(batches):
    _builder("compiled")
    layouts = outputs._EventLayouts(compiled=True)  # batch after batch: types and words seen before, and new ones
    for events in batches:
        _assert_same_arrays(*_both_filled(layouts, events))


def test_the_compiled_builder_fills_a_runs_batches_as_the_reference_does(otc_day):
    _builder("compiled")
    run = outputs.events_of(pq.read_table(otc_day / "events.parquet"))
    layouts = outputs._EventLayouts(compiled=True)
    for start in range(0, len(run), 5_000):
        _assert_same_arrays(*_both_filled(layouts, run[start : start + 5_000]))


def test_the_compiled_builder_fills_many_types_and_strings_in_one_batch_as_the_reference_does():
    """More event types than it finds by identity and more strings a column
    than it remembers a batch (the rest through the dicts), each seen twice."""
    _builder("compiled")
    types = [
        msgspec.defstruct(
            f"Event{i}", [("seq", int), ("series", str), ("side", str), ("extra", int)], bases=(cfx.types.Msg,)
        )
        for i in range(80)
    ]
    events = [tp(i, f"S{i % 40}", "buy" if i % 3 else "sell", -i) for i, tp in enumerate(types)]
    layouts = outputs._EventLayouts(compiled=True)
    for batch in (events + events[::-1], events[::2] + events):
        _assert_same_arrays(*_both_filled(layouts, batch))


class _Inherited(cfx.types.OrderRested):
    """An event type whose fields are its base's (in the base's slots)."""


def test_what_the_compiled_builder_does_not_read_the_reference_builds(tmp_path):
    """A value beyond int64, an int column holding a float, a type whose
    fields are not its own slots: `fill` leaves the batch to the reference,
    whose columns (or error) the run gets."""
    _builder("compiled")
    layouts = outputs._EventLayouts(compiled=True)
    level = cfx.types.LevelChanged(1, 1, 10, "S", cfx.types.Side.BUY, 100, 5)
    for odd in (
        msgspec.structs.replace(level, price=2**63),
        msgspec.structs.replace(level, qty=1.5),
        _Inherited(2, 1, 10, "S", 7, cfx.types.Side.SELL, 101, 3, 3),
    ):
        assert layouts._fast.fill([level, odd]) is None
    with pytest.raises(OverflowError):
        layouts.columns([level, msgspec.structs.replace(level, price=2**63)])
    inherited = [level, _Inherited(2, 1, 10, "S", 7, cfx.types.Side.SELL, 101, 3, 3)]
    cols = layouts.columns(inherited)
    assert cols["order_id"].to_pylist() == [None, 7] and cols["details"].to_pylist() == [None, '{"open_qty":3}']


def _assert_same_trade_columns(columns: outputs._TradeColumns, events: list) -> None:
    """The compiled trades builder's arrays are the reference's (one `tables.Words`)."""
    fast = columns._fast.fill(events)
    assert fast is not None, "the compiled trades builder left a batch of plain trades to the reference"
    for a, b in zip(fast, columns._filled(events)):
        assert a.dtype == b.dtype and a.shape == b.shape and a.tolist() == b.tolist()


@settings(max_examples=100, deadline=None)
@given(batches=st.lists(st.lists(any_event, max_size=30), min_size=1, max_size=4))
def test_the_compiled_trades_builder_fills_the_arrays_the_reference_does(batches):
    _builder("compiled")
    columns = outputs._TradeColumns(compiled=True)  # batch after batch: series seen before, and new ones
    for events in batches:
        _assert_same_trade_columns(columns, events)


def test_the_compiled_trades_builder_fills_a_runs_batches_as_the_reference_does(otc_day):
    _builder("compiled")
    run = outputs.events_of(pq.read_table(otc_day / "events.parquet"))
    assert sum(type(e) is cfx.types.Trade for e in run) > 50
    columns = outputs._TradeColumns(compiled=True)
    for start in range(0, len(run), 5_000):
        _assert_same_trade_columns(columns, run[start : start + 5_000])


def test_what_the_compiled_trades_builder_does_not_read_the_reference_builds():
    _builder("compiled")
    columns = outputs._TradeColumns(compiled=True)
    trade = cfx.types.Trade(1, 1, 10, "S", 100, 5, 1, 2, 3, 4, cfx.types.Side.BUY)
    for odd in (msgspec.structs.replace(trade, price=2**63), msgspec.structs.replace(trade, qty=1.5)):
        assert columns._fast.fill([trade, odd]) is None
    with pytest.raises(OverflowError):
        columns.columns([trade, msgspec.structs.replace(trade, price=2**63)])
    level = cfx.types.LevelChanged(1, 1, 10, "S", cfx.types.Side.BUY, 100, 5)
    assert columns.columns([level]) is None and columns._fast.fill([level])[0].shape == (8, 0)


def test_a_run_writer_builds_on_the_compiled_builder_unless_the_engine_is_python(tmp_path, monkeypatch):
    _builder("compiled")
    writer = outputs.RunWriter(tmp_path / "a", journal=False)
    assert writer._layouts._fast is not None and writer._trade_columns._fast is not None
    writer.close()
    monkeypatch.setenv("CFX_ENGINE", "python")
    writer = outputs.RunWriter(tmp_path / "b", journal=False)
    assert writer._layouts._fast is None and writer._trade_columns._fast is None
    writer.close()


def test_without_the_extension_the_reference_builds_the_event_tables(monkeypatch):
    monkeypatch.setenv("CFX_NO_EXTENSION", "1")
    assert not outputs.eventcols_available()


def _example(tp: type) -> dict:
    """Plausible values for each field of ``tp`` (the first enum member, a date, small numbers)."""
    values = {}
    for i, f in enumerate(msgspec.inspect.type_info(tp).fields):
        t = f.type.types[0] if isinstance(f.type, msgspec.inspect.UnionType) else f.type
        values[f.name] = (
            next(iter(t.cls)).value
            if isinstance(t, msgspec.inspect.EnumType)
            else "2026-01-05"
            if isinstance(t, msgspec.inspect.DateType)
            else "GPU-H100-F26"
            if isinstance(t, msgspec.inspect.StrType)
            else i % 2 == 0
            if isinstance(t, msgspec.inspect.BoolType)
            else 100 + i
        )
    return values


def test_book_top_rows_gathered_a_day_at_a_time_end_row_groups_where_each_snapshot_alone_did(tmp_path, monkeypatch):
    monkeypatch.setattr(outputs, "FLUSH_ROWS", 5)
    rows = [(i * 10**9, f"S{i % 2}", 100 + i, 1, None if i % 3 else 105 + i, 2, None) for i in range(14)]
    writer = outputs.RunWriter(tmp_path, journal=False)
    for start in range(0, 9, 3):  # day one: three snapshots of three rows; a row group of 6, then 3
        writer.write_book_top(rows[start : start + 3])
    writer.end_part()
    writer.write_book_top(rows[9:14])  # day two: one snapshot of five
    writer.close()
    f = pq.ParquetFile(tmp_path / "book_top.parquet")
    assert [f.metadata.row_group(i).num_rows for i in range(f.num_row_groups)] == [6, 3, 5]
    names = outputs.BOOK_TOP_SCHEMA.names
    assert (
        f.read().to_pydict()
        == tables.table({n: [r[i] for r in rows] for i, n in enumerate(names)}, outputs.BOOK_TOP_SCHEMA).to_pydict()
    )


def _book_rows(n: int, first: int = 0) -> list[tuple]:
    return [(i * 10**9, f"S{i % 2}", 100 + i, 1, None if i % 3 else 105 + i, 2, None) for i in range(first, first + n)]


def test_tables_joined_while_the_run_goes_are_the_bytes_of_joining_the_parts_at_the_end(tmp_path, monkeypatch):
    monkeypatch.setattr(outputs, "FLUSH_ROWS", 4)  # several batches (row groups) a part
    writer = outputs.RunWriter(tmp_path, journal=False)
    for day in range(3):
        if day != 1:  # a day without rows: no part file
            for snapshot in range(3):  # a batch of 6 rows, then one of 3
                writer.write_book_top(_book_rows(3, 9 * day + 3 * snapshot))
        writer.end_part()
    writer.close()
    parts = outputs.part_files(tmp_path / outputs.PARTS, "book_top")
    assert len(parts) == 2
    expected = tmp_path / "expected.parquet"
    with pq.ParquetWriter(expected, outputs.BOOK_TOP_SCHEMA, compression="zstd") as w:
        for f in parts:
            for batch in pa.ipc.open_stream(f.read_bytes()):
                w.write_table(pa.Table.from_batches([batch]))
    assert (tmp_path / "book_top.parquet").read_bytes() == expected.read_bytes()
    assert pq.ParquetFile(tmp_path / "book_top.parquet").num_row_groups == 4
    assert pq.read_table(tmp_path / "events.parquet").num_rows == 0  # no rows at all: the schema alone
    assert pq.read_schema(tmp_path / "events.parquet").equals(outputs.EVENT_SCHEMA, check_metadata=True)
    assert not list((tmp_path / outputs.PARTS).glob("*.tmp"))


def test_an_error_joining_a_part_in_the_background_is_raised_not_lost(tmp_path, monkeypatch):
    def broken(w, part):
        raise OSError(f"disk full writing {part.name}")

    monkeypatch.setattr(outputs, "_append", broken)
    writer = outputs.RunWriter(tmp_path, journal=False)
    writer.write_book_top(_book_rows(3))
    writer.end_part()
    with pytest.raises(OSError, match="disk full writing book_top-00000"):
        writer.close()
    assert not (tmp_path / "book_top.parquet").exists()
    writer.abandon()  # what the run does next: nothing left running


def test_a_days_files_are_finished_on_the_background_thread_before_its_checkpoint(tmp_path):
    """`end_part`'s ``then`` (the checkpoint) runs after the day's parts are
    renamed into place and hashed: what it is given names only files that
    are there, with those bytes; a day without rows of a table has no part."""
    writer = outputs.RunWriter(tmp_path, journal=False)
    seen = []

    def then(parts, digests):
        on_disk = {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in (tmp_path / outputs.PARTS).iterdir()}
        seen.append((parts, digests, on_disk))

    writer.write_book_top(_book_rows(3))
    assert writer.end_part(then=then) == 1
    writer.end_part(then=then)  # a day without rows
    writer.write_book_top(_book_rows(2, 3))
    writer.end_part(then=then)
    writer.wait()
    assert [parts for parts, _, _ in seen] == [1, 2, 3]
    assert [sorted(d) for _, d, _ in seen] == [
        ["book_top-00000.arrows"],
        ["book_top-00000.arrows"],
        ["book_top-00000.arrows", "book_top-00002.arrows"],
    ]
    for _, digests, on_disk in seen:
        assert all(on_disk[name] == sha for name, sha in digests.items())
    writer.close()


def test_a_checkpoint_that_cannot_be_written_fails_the_run_and_nothing_after_it_is_written(tmp_path, monkeypatch):
    """A task of the background thread that fails (a full disk writing the
    checkpoint) raises in the run at its next day end or at close, and the
    thread does nothing queued after it."""
    writer = outputs.RunWriter(tmp_path, journal=False)

    def full(parts, digests):
        raise OSError("disk full writing checkpoint.pkl")

    writer.write_book_top(_book_rows(3))
    writer.end_part(then=full)
    writer.write_book_top(_book_rows(3, 3))
    with pytest.raises(OSError, match="disk full writing checkpoint.pkl"):
        writer.wait()
    writer.end_part()  # queued after the failure: skipped
    writer.abandon()
    assert [f.name for f in (tmp_path / outputs.PARTS).iterdir() if f.suffix == ".arrows"] == ["book_top-00000.arrows"]


def test_a_writer_whose_journal_cannot_be_opened_leaves_no_thread_running(tmp_path, monkeypatch):
    import threading

    def background_threads() -> list:
        return [t for t in threading.enumerate() if t.name.startswith("cfx-files")]

    writer = outputs.RunWriter(tmp_path, journal=False)
    writer.write_book_top(_book_rows(3))
    writer.end_part()
    writer.wait()
    digests = dict(writer.digests)
    writer.close()
    assert not background_threads()

    def refused(*args, **kwargs):
        raise OSError("journal: permission denied")

    monkeypatch.setattr(outputs, "Journal", refused)
    monkeypatch.setattr(outputs, "replay_hash", lambda journal, count: (outputs.EventHash(), 0))
    with pytest.raises(OSError, match="permission denied"):  # resuming: the finished part is queued to be joined first
        outputs.RunWriter(tmp_path, parts=1, position=Position(0, b"", 0), digests=digests)
    assert not background_threads()
