"""A run's schedule: items ``(ts, kind, a, b)`` due at integer times (ns),
taken in time order and, at the same time, in the order pushed: what
drives the scenario loop (`cfx.sim.loop.Simulation`), and so what keeps a
run the same from one to the next.

Two implementations of one interface: `PySchedule` here, the reference
(and what runs when the compiled core is not built, with
``CFX_NO_EXTENSION=1``, or with ``CFX_ENGINE=python``, a pure-Python
run), and ``cfx.core._schedule.Schedule`` (Cython,
C++: a heap of C structs). `new` gives the one to use. Times are int64
(the compiled one refuses others: ns since 1970 reach 2262). Both pickle to the
same thing (`restore` of the items in order), so a checkpoint written
with one resumes on the other.
"""

from __future__ import annotations

import os
from heapq import heappop, heappush
from typing import Any, Iterable, Protocol

from cfx import core

SEQ_BITS = 40
"""`PySchedule` keys an item by one int, ``ts << SEQ_BITS | sequence``
(sequence < 2**40): ordering the ints orders the items by (time, push
order), and its heap compares ints, not tuples (callgrind, the 2-day
baseline: heappush and heappop 984M -> 434M instructions)."""

Item = tuple[int, int, Any, Any]


class Schedule(Protocol):
    def push(self, ts: int, kind: int, a: Any = None, b: Any = None) -> None:
        """Schedule item ``(ts, kind, a, b)``."""

    def pop(self, before: int) -> Item | None:
        """Take the next item if it is due before ``before``, else None."""

    def peek(self) -> int | None:
        """The time of the next item (None: there is none)."""

    def __len__(self) -> int: ...

    def items(self) -> list[Item]:
        """Every item waiting, in the order they would be taken."""


class PySchedule:
    """The pure-Python schedule: a heap of int keys (`SEQ_BITS`) and the items by key."""

    __slots__ = ("_heap", "_items", "_seq")

    def __init__(self) -> None:
        self._heap: list[int] = []
        self._items: dict[int, Item] = {}
        self._seq = 0

    def push(self, ts: int, kind: int, a: Any = None, b: Any = None) -> None:
        self._seq = seq = self._seq + 1
        key = ts << SEQ_BITS | seq
        self._items[key] = (ts, kind, a, b)
        heappush(self._heap, key)

    def pop(self, before: int) -> Item | None:
        heap = self._heap
        if heap and heap[0] < before << SEQ_BITS:  # the keys of the items due before it are below this
            return self._items.pop(heappop(heap))
        return None

    def peek(self) -> int | None:
        return self._heap[0] >> SEQ_BITS if self._heap else None

    def __len__(self) -> int:
        return len(self._heap)

    def items(self) -> list[Item]:
        return [self._items[key] for key in sorted(self._heap)]

    def __reduce__(self) -> tuple:
        return restore, (self.items(),)


def new() -> Schedule:
    """An empty schedule: the compiled one when the core is built and allowed
    (`cfx.core.available`) and ``CFX_ENGINE`` is not ``python``, else
    `PySchedule`. It decides nothing (the same items in the same order
    either way), so ``auto`` and ``compiled`` both take it."""
    if core.available() and os.environ.get("CFX_ENGINE") != "python":
        from cfx.core._schedule import Schedule as CompiledSchedule

        return CompiledSchedule()
    return PySchedule()


def restore(items: Iterable[Item]) -> Schedule:
    """A schedule of ``items``, given in the order they are to be taken (what
    a schedule pickles to). Pushed afresh in that order, they keep it, and
    anything pushed later still comes after them at equal times."""
    s = new()
    for ts, kind, a, b in items:
        s.push(ts, kind, a, b)
    return s
