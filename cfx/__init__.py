"""cfx: a simulator of a futures exchange for GPU compute.

The Python API (see docs/tutorial.md)::

    import cfx
    sc = cfx.load("baseline", **{"calendar.days": 2})   # a file or a shipped name, with overrides
    run = cfx.run(sc)                                     # a Run (temporary directory unless out=...)
    run.trades()                                          # pandas DataFrames with times, dollars, agent types
    cfx.open_run("runs/baseline").summary

`load`, `run`, `open_run`, `Run` and `shipped_scenarios` live in `cfx.api`;
they are imported on first use so that ``import cfx`` stays light.
"""

from __future__ import annotations

from importlib import metadata as _metadata
from typing import Any

try:
    __version__ = _metadata.version("cfx")
except _metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["Run", "__version__", "load", "open_run", "run", "shipped_scenarios"]


def __getattr__(name: str) -> Any:
    if name in ("Run", "load", "open_run", "run", "shipped_scenarios"):
        from cfx import api

        return getattr(api, name)
    raise AttributeError(f"module 'cfx' has no attribute {name!r}")
