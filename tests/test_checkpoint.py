"""Day-boundary checkpoints: what pickling the simulation leaves behind in
the run that goes on (the kill-and-resume tests are in test_run_safety.py)."""

from __future__ import annotations

import pickle

from cfx.sim import checkpoint
from cfx.types import Side


class _Leaf:
    def __init__(self) -> None:
        self.n = 3


class _Plain:
    def __init__(self) -> None:
        self.orders = {7: [1, 2]}
        self.side = Side.BUY
        self.leaf = _Leaf()
        self.name = "mm"


def test_a_checkpoint_leaves_each_object_the_same_attributes_in_a_fresh_dict():
    """Pickling reads an object's ``__dict__``; `_dumps` then puts a copy in
    its place (one CPython's fast attribute reads handle): the same
    attribute objects in the same order, so the next checkpoint's bytes are
    the same, and an Enum member (pickled by name) is left alone."""
    obj = _Plain()
    before = obj.__dict__
    leaf_before = obj.leaf.__dict__
    side_before = Side.BUY.__dict__
    attrs = list(before.items())
    data = checkpoint._dumps(obj)
    assert obj.__dict__ is not before and obj.leaf.__dict__ is not leaf_before
    assert [(k, v) for k, v in obj.__dict__.items()] == attrs
    assert all(v is old for v, (_, old) in zip(obj.__dict__.values(), attrs))
    assert Side.BUY.__dict__ is side_before
    assert checkpoint._dumps(obj) == data
    back = pickle.loads(data)
    assert (back.orders, back.side, back.leaf.n, back.name) == ({7: [1, 2]}, Side.BUY, 3, "mm")


class _Later:  # pickled by no test before the one below
    def __init__(self) -> None:
        self.leaf = _Leaf()


def test_a_class_first_met_after_other_checkpoints_is_mended_too():
    """`_dumps` decides how to pickle a type at its first instance and keeps
    that: a plain class first met after earlier checkpoints (a plugin's)
    gets its objects' dicts replaced like any other."""
    checkpoint._dumps(_Plain())
    obj = _Later()
    before, leaf_before = obj.__dict__, obj.leaf.__dict__
    data = checkpoint._dumps([obj, Side.SELL])
    assert obj.__dict__ is not before and obj.leaf.__dict__ is not leaf_before
    assert obj.__dict__ == {"leaf": obj.leaf}
    back = pickle.loads(data)
    assert back[0].leaf.n == 3 and back[1] is Side.SELL


def test_a_checkpoint_pickles_as_pickle_does():
    """The same bytes as ``pickle.dumps`` for what pickle does by itself:
    plain objects, Structs, numpy arrays, dates, Enum members, classes
    (a Struct type among them), a type in copyreg's table."""
    import datetime

    import numpy as np

    from cfx.sim.scenario import Scenario
    from cfx.sim.tape import NO_QUOTE

    things = [_Plain(), NO_QUOTE, np.arange(5), datetime.date(2027, 1, 4), Side.BUY, Scenario, _Plain, complex(1, 2)]
    assert checkpoint._dumps(things) == pickle.dumps(things, protocol=checkpoint.PROTOCOL)
