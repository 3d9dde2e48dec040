"""The sweep file: decoded, validated and expanded into a `Plan` of tasks.

Every point is applied to the decoded base scenario as builtins and
converted back through the `Scenario` schema, so a bad value is a path
error (an `InputError`) before anything runs. A task's key is a hash of the
fully resolved scenario it runs (`task_key`).
"""

from __future__ import annotations

import hashlib
import itertools
import math
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from cfx.errors import InputError, one_line, path_first
from cfx.inputs import decode as decode_text
from cfx.inputs import read_bytes
from cfx.sim import overrides as ov
from cfx.sweep.metrics import DICT_METRICS, METRICS

KEY_VERSION = 1  # bump when the meaning of a task key changes
COMPACT_OUTPUT = {"journal": False, "events": "trades-only"}  # what a sweep's runs write by default
RESERVED_PATHS = {
    "seed": "vary seeds with `seeds`",
    "name": "the name is not a parameter",
    "question": "the question is not a parameter",
}


class _Spec(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="kebab"):
    pass


class RandomParam(_Spec, kw_only=True):
    """One randomly sampled parameter: uniform on [low, high] (log-uniform
    with ``log``; whole numbers with ``integer``), or one of ``choices``."""

    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False
    choices: list[Any] | None = None


class RandomSpec(_Spec, kw_only=True):
    points: Annotated[int, Meta(ge=1, le=100_000)]
    seed: Annotated[int, Meta(ge=0, le=2**63 - 1)] = 0
    params: dict[str, RandomParam]


class SweepFile(_Spec, kw_only=True):
    base: str
    name: str = ""
    question: str = ""
    seeds: (
        Annotated[int, Meta(ge=1, le=10_000)]
        | Annotated[list[Annotated[int, Meta(ge=0, le=2**63 - 1)]], Meta(min_length=1)]
    ) = 1
    metrics: list[str] | None = None
    labels: list[str] | None = None  # a short name per grid point, in order (the report's rows)
    better: dict[str, Literal["higher", "lower"]] = msgspec.field(default_factory=dict)  # metrics to rank
    set: dict[str, Any] = msgspec.field(default_factory=dict)
    grid: dict[str, Annotated[list[Any], Meta(min_length=1)]] = msgspec.field(default_factory=dict)
    random: RandomSpec | None = None


class Task(msgspec.Struct, frozen=True):
    """One (point, seed): the builtins of the scenario to run and where."""

    point: int
    point_id: str
    params: dict[str, Any]
    seed: int
    key: str
    run_dir: str  # relative to the sweep's output folder
    scenario: dict[str, Any]


class Plan(msgspec.Struct):
    """A decoded, validated sweep: what to run, in order."""

    source: str
    sweep_sha256: str
    name: str
    question: str
    base: str
    params: list[str]  # varied parameter paths, in file order
    mode: str  # "grid" or "random"
    points: list[dict[str, Any]]
    seeds: list[int]
    metrics: list[str] | None
    tasks: list[Task]
    labels: list[str] | None = None
    better: dict[str, str] = msgspec.field(default_factory=dict)


def _quote(path: str) -> str:
    return f'"{path}"'


def load(path: str | Path) -> Plan:
    """Read and validate a sweep file; every error is an `InputError` naming
    the file and the path in it."""
    path = Path(path)
    return decode(read_bytes(path, "sweep file"), path)


def decode(raw: bytes | str, path: Path) -> Plan:  # noqa: C901 (validates a sweep file top to bottom; split candidate)
    from cfx.sim import scenario as scn

    src = str(path)
    data = raw.encode() if isinstance(raw, str) else raw
    raw = decode_text(data, src)
    try:
        spec = msgspec.toml.decode(raw, type=SweepFile)
    except msgspec.ValidationError as e:
        msg = one_line(path_first(str(e)))
        if msg.startswith("grid[...]"):  # name the key msgspec leaves out
            grid = msgspec.toml.decode(raw).get("grid", {})
            bad = next((k for k, v in grid.items() if not isinstance(v, list)), None)
            if bad is not None:
                msg = msg.replace("grid[...]", f"grid.{_quote(bad) if '.' in bad else bad}", 1)
                if isinstance(grid[bad], dict):
                    msg += ' (quote dotted paths: "products.tick-usd" = [...])'
        elif msg.startswith("better[...]"):  # name the metric msgspec leaves out
            better = msgspec.toml.decode(raw).get("better", {})
            bad = next((k for k, v in better.items() if v not in ("higher", "lower")), None)
            if bad is not None:
                msg = msg.replace("better[...]", f"better.{_quote(bad) if '.' in bad else bad}", 1)
        raise InputError(f"{src}: {msg}") from None
    except msgspec.DecodeError as e:
        raise InputError(f"{src}: not valid TOML: {one_line(str(e))}") from None

    base_path = Path(spec.base)
    if not base_path.is_absolute():
        base_path = path.parent / base_path
    try:
        base = scn.load(base_path)
    except InputError as e:
        raise InputError(f"{src}: base: {e}") from None
    base_dict = _compact_outputs(msgspec.to_builtins(base), base_path)

    if spec.grid and spec.random is not None:
        raise InputError(f"{src}: grid, random: give one of [grid] or [random], not both")
    if not spec.grid and spec.random is None:
        raise InputError(f"{src}: grid: nothing to vary: give a [grid] or a [random] table")

    for p in list(spec.set) + list(spec.grid) + (list(spec.random.params) if spec.random else []):
        ov.parse_path(p, f"{src}: {_section_of(spec, p)}.{_quote(p)}")
        if p in RESERVED_PATHS:
            raise InputError(f"{src}: {_section_of(spec, p)}.{_quote(p)}: {RESERVED_PATHS[p]}")
    overlap = set(spec.set) & (set(spec.grid) | set(spec.random.params if spec.random else ()))
    if overlap:
        p = sorted(overlap)[0]
        raise InputError(f"{src}: set.{_quote(p)}: is also varied")

    if isinstance(spec.seeds, int):
        seeds = [base.seed + i for i in range(spec.seeds)]
    else:
        seeds = list(spec.seeds)
        if len(set(seeds)) != len(seeds):
            raise InputError(f"{src}: seeds: repeated seed")

    if spec.metrics is not None:
        for i, m in enumerate(spec.metrics):
            if m not in METRICS and not m.startswith(tuple(f"{k}." for k in DICT_METRICS)):
                raise InputError(f"{src}: metrics[{i}]: unknown metric {m!r} (known: {', '.join(METRICS)})")
        if not spec.metrics:
            raise InputError(f"{src}: metrics: empty list (leave it out for every metric)")
    for m in spec.better:
        if spec.metrics is not None and m not in spec.metrics:
            raise InputError(f"{src}: better.{_quote(m)}: not one of the sweep's metrics")
        if spec.metrics is None and m not in METRICS and not m.startswith(tuple(f"{k}." for k in DICT_METRICS)):
            raise InputError(f"{src}: better.{_quote(m)}: unknown metric")

    # fixed overrides first: they are the base every point starts from
    fixed = base_dict
    for p, v in spec.set.items():
        fixed = ov.set_path(fixed, p, v, f"{src}: set.{_quote(p)}")
    ov.validate(fixed, f"{src}: set", path.parent)

    if spec.grid:
        mode, names = "grid", list(spec.grid)
        points = [dict(zip(names, combo)) for combo in itertools.product(*spec.grid.values())]
        where = lambda p, i, point: f"{src}: grid.{_quote(p)}[{spec.grid[p].index(point[p])}]"  # noqa: E731
    else:
        mode, names = "random", list(spec.random.params)
        points = _sample(spec.random, src)
        where = lambda p, i, point: f"{src}: random point {i} ({p} = {point[p]!r})"  # noqa: E731

    if spec.labels is not None and len(spec.labels) != len(points):
        raise InputError(f"{src}: labels: {len(spec.labels)} labels for {len(points)} points")
    tasks: list[Task] = []
    seen: dict[str, int] = {}
    for i, point in enumerate(points):
        d = fixed
        for p in names:
            d = ov.set_path(d, p, point[p], where(p, i, point))
        # a whole point is validated together: one parameter may only be valid with another
        try:
            sc = ov.validate(d, "", path.parent)
        except InputError as e:
            msg = str(e).removeprefix(": ")
            culprit = next((p for p in names if msg.startswith(p + ":") or msg.startswith(p + ".")), None)
            if culprit is not None:  # the error is in one varied value: name it
                raise InputError(f"{where(culprit, i, point)}: {msg}") from None
            desc = ", ".join(f"{p} = {point[p]!r}" for p in names)
            raise InputError(f"{src}: {mode} point {i} ({desc}): {msg}") from None
        point_id = "p" + _digest(msgspec.json.encode(point, order="sorted"))[:8]
        if point_id in seen:
            raise InputError(f"{src}: {mode}: point {i} repeats point {seen[point_id]} ({point})")
        seen[point_id] = i
        for seed in seeds:
            run = msgspec.structs.replace(sc, seed=seed)
            b = msgspec.to_builtins(run)
            tasks.append(
                Task(
                    point=i,
                    point_id=point_id,
                    params=point,
                    seed=seed,
                    key=task_key(b),
                    run_dir=f"runs/{point_id}-s{seed}",
                    scenario=b,
                )
            )

    return Plan(
        source=src,
        sweep_sha256=_digest(data),
        name=spec.name or path.stem,
        question=spec.question,
        base=str(base_path),
        params=names,
        mode=mode,
        points=points,
        seeds=seeds,
        metrics=list(spec.metrics) if spec.metrics is not None else None,
        tasks=tasks,
        labels=list(spec.labels) if spec.labels is not None else None,
        better=dict(spec.better),
    )


def _compact_outputs(base: dict[str, Any], base_path: Path) -> dict[str, Any]:
    """A sweep's runs write the compact outputs (`COMPACT_OUTPUT`: no journal,
    the trades but no event log) unless the base scenario's file sets the
    key itself; the sweep's ``[set]`` can still change them."""
    import tomllib

    try:
        given = tomllib.loads(base_path.read_text(encoding="utf-8")).get("output", {})
    except (OSError, ValueError):
        given = {}
    output = dict(base.get("output", {}))
    for key, value in COMPACT_OUTPUT.items():
        if key not in given:
            output[key] = value
    return {**base, "output": output}


def _section_of(spec: SweepFile, p: str) -> str:
    return "set" if p in spec.set else "grid" if p in spec.grid else "random.params"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def task_key(scenario_builtins: dict[str, Any]) -> str:
    """What identifies a finished task: the scenario that runs, seed included,
    without the name and question (they change no result)."""
    d = {k: v for k, v in scenario_builtins.items() if k not in ("name", "question")}
    if "output" in d:  # what a run writes changes none of its results
        d["output"] = {k: v for k, v in d["output"].items() if k not in COMPACT_OUTPUT}
    return _digest(msgspec.json.encode({"v": KEY_VERSION, "scenario": d}, order="sorted"))


def _sample(spec: RandomSpec, src: str) -> list[dict[str, Any]]:
    import numpy as np

    for p, r in spec.params.items():
        where = f"{src}: random.params.{_quote(p)}"
        if r.choices is not None:
            if r.low is not None or r.high is not None or r.log or r.integer:
                raise InputError(f"{where}: give either choices or low/high, not both")
            if not r.choices:
                raise InputError(f"{where}.choices: empty list")
            continue
        if r.low is None or r.high is None:
            raise InputError(f"{where}: needs low and high (or choices)")
        if not r.low <= r.high:
            raise InputError(f"{where}: expected low <= high, got {r.low} > {r.high}")
        if r.log and r.low <= 0:
            raise InputError(f"{where}.low: log sampling needs low > 0")
        if r.integer and (r.low != int(r.low) or r.high != int(r.high)):
            raise InputError(f"{where}: integer sampling needs whole-number low and high")
    rng = np.random.default_rng(spec.seed)
    points = []
    for _ in range(spec.points):
        point: dict[str, Any] = {}
        for p, r in spec.params.items():
            if r.choices is not None:
                point[p] = r.choices[int(rng.integers(len(r.choices)))]
            elif r.integer:
                if r.log:
                    point[p] = int(round(math.exp(rng.uniform(math.log(r.low), math.log(r.high)))))
                else:
                    point[p] = int(rng.integers(int(r.low), int(r.high) + 1))
            else:
                x = math.exp(rng.uniform(math.log(r.low), math.log(r.high))) if r.log else rng.uniform(r.low, r.high)
                point[p] = float(f"{x:.6g}")  # readable parameter values; 6 significant digits
        points.append(point)
    # random draws may repeat (choices, integers): keep the first of each
    unique, seen = [], set()
    for point in points:
        k = msgspec.json.encode(point, order="sorted")
        if k not in seen:
            seen.add(k)
            unique.append(point)
    return unique
