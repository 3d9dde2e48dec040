"""What the simulation tells its agents about the index, and when.

`IndexPublisher` takes each day's intraday index (`cfx.index.intraday`),
publishes every index's indicative value on the scenario's schedule
(``[information] indicative-interval-s``, from the pre-open to the fixing
time, whose value is the official fixing) and answers the agents' questions
with their market-data latency: an agent sees the latest publication made at
least ``market_data_ns`` before now. Agents that subscribe and override
`Agent.on_index` are called once per publication (after their latency,
jitter included) for each index whose value changed. `value_signal` reads
the latent value (ahead of publication) plus the agent's own noise.

With a quotes-CSV feed there is no intraday path: nothing is published
during the day and every index's value is its last official fixing.
"""

from __future__ import annotations

import bisect
from functools import partial
from itertools import compress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cfx.agents.base import Agent
from cfx.index.intraday import IndexDay, IntradayIndex
from cfx.products import Series, settlement_weights
from cfx.sim.clock import NS, minutes
from cfx.sim.scenario import fixing_minute

if TYPE_CHECKING:
    from cfx.sim.loop import Simulation
    from cfx.sim.participant import Participant


class IndexPublisher:
    """The indicative index of a run, one day at a time."""

    def __init__(self, sim: "Simulation", intraday: IntradayIndex | None) -> None:
        self.sim = sim
        self.intraday = intraday
        sc = sim.sc
        cal, info = sc.calendar, sc.information
        self.pre_open_min = minutes(cal.pre_open)
        fix = fixing_minute(sc)
        self.span = (fix - self.pre_open_min) * 60
        publish = list(range(0, self.span, info.indicative_interval_s)) + [self.span]
        self.publish = np.array(publish)
        start = minutes(info.news_start) if info.news_start else minutes(cal.open)
        end = minutes(info.news_end) if info.news_end else fix
        self.news = ((start - self.pre_open_min) * 60, (end - self.pre_open_min) * 60)
        self.listeners = [p for p in sim.subscribers if type(p.agent).on_index is not Agent.on_index]
        self.day: IndexDay | None = None
        self.pre_open_ns = 0
        self.pub_ns: list[int] = []
        self.row: dict[str, int] = {}
        self.values = np.empty((0, 0), dtype=np.int64)
        self._lists: list[list[int]] = []
        self._tables: list[tuple[np.ndarray, list[str], np.ndarray]] = []
        self._month: dict[str, tuple[int, int, int]] = {}
        self._expected: dict[tuple[str, int], int] = {}  # (series, publication) -> ticks, today

    def start_day(self, day: Any, pre_open_ns: int) -> None:
        """Compute the day's publications and schedule the `on_index` calls."""
        self._month.clear()
        self._expected.clear()
        self.pre_open_ns = pre_open_ns
        self.day = None
        if self.intraday is None:
            return
        today = self.intraday.compute(day, self.span, self.publish, self.news, self.pre_open_min)
        if today is None:
            return
        self.day = today
        self.pub_ns = (pre_open_ns + self.publish * NS).tolist()
        self.row = {name: i for i, name in enumerate(today.names)}
        self.values = np.rint(today.values).astype(np.int64)
        self._lists = self.values.tolist()  # plain ints: agents read them often
        self._tables.append((np.array(self.pub_ns, dtype=np.int64), today.names, self.values))
        if not self.listeners:
            return
        changed = np.ones(self.values.shape, dtype=bool)
        changed[:, 1:] = self.values[:, 1:] != self.values[:, :-1]
        names, at, deliver = today.names, self.sim.at, self._deliver
        listeners = [(p, p.delay, p.md_ns) for p in self.listeners]
        for ts, now in zip(self.pub_ns, changed.T.tolist()):  # a publication's column: which rows changed
            which = list(compress(names, now))
            if which:
                for p, delay, md_ns in listeners:
                    at(ts + delay(md_ns), partial(deliver, p, which))

    def end_day(self) -> None:
        """Let the day's publications go, once nothing can read them until
        the next `start_day` replaces them: the checkpoint between two days
        (`cfx.sim.checkpoint`) then does not pickle them (at the baseline,
        ~40 % of its bytes). What is published stays in ``_tables``."""
        self.day = None
        self.pub_ns = []
        self.row = {}
        self.values = np.empty((0, 0), dtype=np.int64)
        self._lists = []
        self._month.clear()
        self._expected.clear()

    def _deliver(self, p: "Participant", names: list[str]) -> None:
        if p.active:
            for name in names:
                p.agent.on_index(p.context(), name)

    def seen(self, name: str, latency_ns: int) -> int | None:
        """The latest value of index `name` published at least `latency_ns`
        ago (micro-$), else its latest official fixing; None if neither."""
        i = self.row.get(name) if self.day is not None else None
        if i is not None:
            k = bisect.bisect_right(self.pub_ns, self.sim.now - latency_ns) - 1
            if k >= 0:
                return self._lists[i][k]
        return self.sim.published.get(name)

    def expected_ticks(self, s: Series, latency_ns: int) -> int | None:
        """`expected` on the latest indicative seen with `latency_ns`,
        rounded to ticks (the same for every agent that saw the same
        publication, so it is kept for the day)."""
        if self.day is None or s.basket not in self.row:
            micro = self.seen(s.basket, latency_ns)
            return None if micro is None else max(1, round(self.expected(s, micro)))
        k = bisect.bisect_right(self.pub_ns, self.sim.now - latency_ns) - 1
        key = (s.symbol, k)
        value = self._expected.get(key)
        if value is None:
            micro = self._lists[self.row[s.basket]][k] if k >= 0 else self.sim.published.get(s.basket)
            if micro is None:
                return None
            self._expected[key] = value = max(1, round(self.expected(s, micro)))
        return value

    def latent(self, basket: str) -> float | None:
        """The latent value of basket `basket` now (micro-$, unpublished)."""
        if self.day is not None and basket in self.day.latent:
            g = min(max((self.sim.now - self.pre_open_ns) // NS, 0), self.span)
            return float(self.day.latent[basket][g])
        v = self.sim.published.get(basket)
        return None if v is None else float(v)

    def expected(self, s: Series, value_micro: float) -> float:
        """The final settlement (ticks, float) if the index's remaining
        fixings of the contract were `value_micro`: the official fixings to
        date of the days its rule weighs (the month's business days, or a
        TWAP window's) plus that value for the others, by their weights. A
        perpetual never final-settles: its anchor is the index itself."""
        if s.perpetual:
            return value_micro / self.sim.tick_micro
        cached = self._month.get(s.symbol)
        if cached is None:
            fixings = self.sim.fixings[s.basket]
            today = self.sim.today
            weights = settlement_weights(s)
            past = [(fixings[d], w) for d, w in weights if d < today and d in fixings]
            self._month[s.symbol] = cached = (
                sum(v * w for v, w in past),
                sum(w for _, w in past),
                sum(w for _, w in weights),
            )
        total, w_past, w_all = cached
        return (total + (w_all - w_past) * value_micro) / w_all / self.sim.tick_micro

    def write_table(self, path: Path) -> None:
        """``indicative.parquet``: time, index, value_usd_micro (as in
        fixings.parquet); one row per publication per index."""
        import pyarrow as pa

        from cfx import tables

        ts, codes, values = [], [], []
        words = tables.Words()  # the index column as codes: one per publication, not a str per row
        for pub, day_names, vals in self._tables:
            for i, name in enumerate(day_names):
                ts.append(pub)
                codes.append(np.full(len(pub), words[name], dtype=np.int32))
                values.append(vals[i])
        schema = tables.schema(
            "indicative", [("time", tables.TIME), ("index", tables.STRING), ("value_usd_micro", pa.int64())]
        )
        table = pa.Table.from_arrays(
            [
                tables.numbers(np.concatenate(ts).astype(np.int64) if ts else np.empty(0, np.int64), tables.TIME),
                tables.dictionary(np.concatenate(codes) if codes else np.empty(0, np.int32), words.words()),
                tables.numbers(
                    np.concatenate(values).astype(np.int64) if values else np.empty(0, np.int64), pa.int64()
                ),
            ],
            schema=schema,
        )
        tables.write(table, path)
