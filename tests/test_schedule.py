"""The run's schedule (`cfx.core.schedule`): both implementations, the
pure-Python reference and the compiled one, held to one simple model of
what a schedule is (items sorted by time, then by push order), under random
pushes, pops, peeks, listings and pickles; and a checkpoint written with
one resumed on the other to the same run hash."""

from __future__ import annotations

import gc
import json
import pickle
import weakref
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cfx import core
from cfx.core import schedule
from cfx.core.schedule import PySchedule
from cfx.sim import scenario as scn
from cfx.sim.run import run_scenario
from cli_support import run_cli

SMALL = Path(__file__).parent / "data" / "sim_small.toml"
INT64 = (-(2**63), 2**63 - 1)


def _compiled() -> type:
    if not core.available():
        pytest.skip("the compiled core is not built (no C++ compiler, or CFX_NO_EXTENSION=1)")
    from cfx.core._schedule import Schedule

    return Schedule


@pytest.fixture(params=["python", "compiled"])
def impl(request: pytest.FixtureRequest) -> type:
    return PySchedule if request.param == "python" else _compiled()


class Model:
    """What a schedule is: its items in (time, push order), the next one taken first."""

    def __init__(self) -> None:
        self.waiting: list[tuple[int, int, tuple]] = []  # (ts, push number, item), kept sorted
        self.pushed = 0

    def push(self, item: tuple) -> None:
        self.pushed += 1
        self.waiting.append((item[0], self.pushed, item))
        self.waiting.sort(key=lambda w: w[:2])

    def pop(self, before: int) -> tuple | None:
        if self.waiting and self.waiting[0][0] < before:
            return self.waiting.pop(0)[2]
        return None

    def items(self) -> list[tuple]:
        return [w[2] for w in self.waiting]


# few distinct times (so many ties, where push order decides) and any int64 time
times = st.one_of(st.integers(0, 4), st.integers(*INT64))
ops = st.lists(
    st.one_of(
        st.tuples(st.just("push"), times, st.integers(0, 5), st.integers(), st.one_of(st.none(), st.text(max_size=3))),
        st.tuples(st.just("pop"), times),
        st.tuples(st.just("pickle")),
        st.tuples(st.just("other")),  # pickled, and loaded as the other implementation
    ),
    max_size=120,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])  # a class
@given(ops=ops)
def test_a_schedule_takes_its_items_by_time_then_push_order_like_the_model(impl, ops):
    other = PySchedule if impl is not PySchedule else (_compiled() if core.available() else PySchedule)
    s, model = impl(), Model()
    n = 0
    for op in ops:
        if op[0] == "push":
            _, ts, kind, a, b = op
            n += 1
            s.push(ts, kind, (n, a), b)  # a fresh object each time: equality tells the items apart
            model.push((ts, kind, (n, a), b))
        elif op[0] == "pop":
            assert s.pop(op[1]) == model.pop(op[1])
        else:  # unpickled as the same implementation, or as the other (what `schedule.new` gives decides)
            into = impl if op[0] == "pickle" else other
            data = pickle.dumps(s, protocol=pickle.HIGHEST_PROTOCOL)
            real_new = schedule.new
            schedule.new = into
            try:
                s = pickle.loads(data)
            finally:
                schedule.new = real_new
            assert type(s) is into
        assert len(s) == len(model.waiting)
        assert s.peek() == (model.waiting[0][0] if model.waiting else None)
        assert s.items() == model.items()
    while (item := s.pop(INT64[1])) is not None:  # everything but what is due at the largest time
        assert item == model.pop(INT64[1])
    assert s.items() == model.items()


def test_a_schedule_pushes_with_only_a_kind_and_pops_nothing_not_yet_due(impl):
    s = impl()
    assert s.pop(10) is None and s.peek() is None and len(s) == 0 and s.items() == []
    s.push(5, 3)
    s.push(5, 1, "a")
    s.push(2, 0, "x", "y")
    assert s.peek() == 2 and len(s) == 3
    assert s.pop(2) is None  # due at 2: not before 2
    assert s.pop(3) == (2, 0, "x", "y")
    assert s.items() == [(5, 3, None, None), (5, 1, "a", None)]
    assert s.pop(6) == (5, 3, None, None) and s.pop(6) == (5, 1, "a", None) and s.pop(6) is None


def test_a_compiled_schedule_is_collected_with_the_cycle_it_is_part_of():
    """Its items often refer back to what holds it (a participant's context, the simulation)."""
    cls = _compiled()

    class Owner:
        pass

    owner = Owner()
    owner.schedule = cls()
    owner.schedule.push(1, 0, owner)
    gone = weakref.ref(owner)
    del owner
    gc.collect()
    assert gone() is None


def test_the_compiled_schedule_refuses_a_time_outside_int64():
    s = _compiled()()
    with pytest.raises(OverflowError):
        s.push(2**63, 0)
    assert len(s) == 0


def test_without_the_extension_a_new_schedule_is_the_python_one(monkeypatch):
    monkeypatch.setenv("CFX_NO_EXTENSION", "1")
    assert not core.available()
    assert type(schedule.new()) is PySchedule


def test_a_pure_python_run_takes_the_python_schedule(monkeypatch):
    """``CFX_ENGINE=python`` runs every piece on its reference, the schedule too."""
    monkeypatch.setenv("CFX_ENGINE", "python")
    assert type(schedule.new()) is PySchedule
    monkeypatch.setenv("CFX_ENGINE", "auto")
    if core.available():
        assert type(schedule.new()) is not PySchedule


def test_a_checkpoint_of_the_compiled_schedule_resumes_on_the_python_one_to_the_same_hash(
    tmp_path, capsys, monkeypatch
):
    """A killed run's checkpoint (day 2 of 3) from the compiled schedule, resumed
    without the extension: the run ends as the uninterrupted one does."""
    _compiled()
    sc = tmp_path / "three.toml"
    sc.write_text(SMALL.read_text().replace("days = 2", "days = 3"))
    whole = run_scenario(scn.load(sc), tmp_path / "whole", progress=False)
    import cfx.sim.run as run_module

    real_save = run_module.checkpoint.save
    saved: list[int] = []

    def save_then_die(sim, out):
        assert type(sim.schedule).__module__ == "cfx.core._schedule"
        real_save(sim, out)
        saved.append(sim.next_day)
        if sim.next_day == 2:
            raise KeyboardInterrupt  # killed right after the day-2 checkpoint

    monkeypatch.setattr(run_module.checkpoint, "save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        run_scenario(scn.load(sc), tmp_path / "killed", progress=False)
    assert saved[-1] == 2
    monkeypatch.setattr(run_module.checkpoint, "save", real_save)
    monkeypatch.setenv("CFX_NO_EXTENSION", "1")
    code, _, err = run_cli(capsys, "run", "--resume", tmp_path / "killed", "--quiet", "--no-report")
    assert code == 0, err
    assert json.loads((tmp_path / "killed" / "summary.json").read_text())["run_hash"] == whole["run_hash"]
