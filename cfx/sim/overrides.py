"""Scenario overrides by dotted path, the way the TOML spells the keys.

``rules.band-pct``, ``agents[0].half-spread-ticks``,
``products.baskets[0].weights.H100``: a path walks tables by key and lists
by index. An override is applied to the scenario as builtins and converted
back through the `Scenario` schema, so a bad value is the same path-named
`InputError` as in a file. `cfx run --set`, `cfx.load(**overrides)` and
sweeps all go through here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from cfx.errors import InputError
from cfx.sim import scenario as scn

_SEGMENT = re.compile(r"([^.\[\]]+)((?:\[\d+\])*)")


def parse_path(path: str, where: str) -> list[str | int]:
    """``agents[0].half-spread-ticks`` -> ["agents", 0, "half-spread-ticks"]."""
    out: list[str | int] = []
    for part in path.split("."):
        m = _SEGMENT.fullmatch(part)
        if m is None:
            raise InputError(f"{where}: not a parameter path (expected e.g. rules.band-pct or agents[0].quote-lots)")
        out.append(m.group(1))
        out.extend(int(i) for i in re.findall(r"\[(\d+)\]", m.group(2)))
    return out


def set_path(d: dict[str, Any], path: str, value: Any, where: str) -> dict[str, Any]:
    """A copy of builtins ``d`` with ``path`` set to ``value``. A missing last
    key is added (the schema then says whether it exists); a missing table
    on the way is an error naming it; an unset (None) table becomes one."""
    parts = parse_path(path, where)
    root = _copy(d)
    node: Any = root
    walked = ""
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(part, int):
            if not isinstance(node, list):
                raise InputError(f"{where}: {walked or '(top level)'} is not a list")
            if part >= len(node):
                raise InputError(f"{where}: {walked} has {len(node)} entries, no [{part}]")
            label = f"{walked}[{part}]"
        else:
            if not isinstance(node, dict):
                raise InputError(f"{where}: {walked or '(top level)'} is not a table")
            if part not in node and not last:
                raise InputError(f"{where}: {_missing(node, part, walked)}")
            if not last and node[part] is None:
                node[part] = {}  # an optional table left unset: the schema fills or refuses it
            if part not in node and "-" not in part and part.replace("_", "-") in node:
                raise InputError(f"{where}: {_missing(node, part, walked)}")
            label = f"{walked}.{part}" if walked else part
        if last:
            node[part] = value
        else:
            node = node[part]
        walked = label
    return root


def to_builtins(sc: scn.Scenario) -> dict[str, Any]:
    """The scenario as TOML-shaped builtins (kebab-case keys)."""
    return msgspec.to_builtins(sc)


def validate(d: dict[str, Any], where: str, folder: Path | None = None) -> scn.Scenario:
    """A `Scenario` from builtins, with the same checks as loading a file; a
    relative quotes path in an override is relative to ``folder``."""
    sc = scn.convert(d, where)
    q = sc.index.quotes
    if folder is not None and q is not None and not Path(q).is_absolute():
        sc = msgspec.structs.replace(sc, index=msgspec.structs.replace(sc.index, quotes=str((folder / q).resolve())))
    return sc


def apply(sc: scn.Scenario, changes: Mapping[str, Any], where: str = "override") -> scn.Scenario:
    """``sc`` with every ``path: value`` of ``changes`` set, validated."""
    d = to_builtins(sc)
    for path, value in changes.items():
        d = set_path(d, path, value, f"{where}: {path}")
    return validate(d, where)


def parse_assignment(text: str) -> tuple[str, Any]:
    """``path=value`` from the command line; the value is read as a TOML
    value (``3``, ``0.5``, ``true``, ``"x"``, ``[1, 2]``), else taken as a string."""
    path, sep, raw = text.partition("=")
    path = path.strip()
    if not sep or not path:
        raise InputError(f"--set {text}: expected PATH=VALUE (e.g. rules.band-pct=10)")
    try:
        value = msgspec.toml.decode(f"v = {raw.strip()}")["v"]
    except msgspec.DecodeError:
        value = raw.strip()
    return path, value


def _missing(node: dict, part: str, walked: str) -> str:
    hint = ""
    if part.replace("_", "-") in node:
        hint = f" (keys are kebab-case: {part.replace('_', '-')})"
    return f"{walked + '.' if walked else ''}{part}: no such key{hint}"


def _copy(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _copy(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_copy(v) for v in x]
    return x
