"""Finding a scenario: a TOML file's path, or the name of a scenario that
ships with cfx (package data in ``cfx/scenarios/``), loaded and validated
with overrides by dotted path. `cfx.api` (``cfx.load``,
``cfx.shipped_scenarios``) and `cfx run` both find scenarios here."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cfx.errors import InputError
from cfx.sim import overrides as ov
from cfx.sim import scenario as scn


def shipped_scenarios() -> dict[str, Path]:
    """The scenarios that come with cfx, by name (file stem), sweeps excluded."""
    folder = scenarios_folder()
    if folder is None:
        return {}
    return {p.stem: p for p in sorted(folder.glob("*.toml")) if not p.stem.startswith(("sweep_", "index_"))}


def scenarios_folder() -> Path | None:
    """Where the shipped scenarios are: ``cfx/scenarios/``, package data of
    the installed package (a wheel has them too)."""
    folder = Path(__file__).resolve().parents[1] / "scenarios"
    return folder if folder.is_dir() else None


def resolve(path_or_name: str | Path) -> Path:
    """A scenario file path: ``path_or_name`` itself if it is a file, else the
    shipped scenario of that name (``baseline`` or ``baseline.toml``)."""
    p = Path(path_or_name)
    if p.is_file():
        return p
    name = p.name[:-5] if p.name.endswith(".toml") else p.name
    shipped = shipped_scenarios()
    if p.parent == Path(".") and name in shipped:
        return shipped[name]
    known = ", ".join(shipped) or "none found"
    raise InputError(f"{path_or_name}: no such scenario file, nor a shipped scenario (shipped: {known})")


def load(path_or_name: str | Path, overrides: Mapping[str, Any] | None = None, **more: Any) -> scn.Scenario:
    """A validated `Scenario` from a file or a shipped name, with overrides by
    dotted path (``{"rules.band-pct": 10}`` or as keyword arguments)."""
    path = resolve(path_or_name)
    sc = scn.load(path)
    changes = {**(overrides or {}), **more}
    if changes:
        sc = ov.apply(sc, changes, where=str(path))
    return sc
