"""cfx: a simulator of a futures exchange for GPU compute.

The Python API (see docs/tutorial.md)::

    import cfx
    sc = cfx.load("baseline", **{"calendar.days": 2})   # a file or a shipped name, with overrides
    run = cfx.run(sc)                                     # a Run (temporary directory unless out=...)
    run.trades()                                          # pandas DataFrames with times, dollars, agent types
    cfx.open_run("runs/baseline").summary

`load`, `run`, `open_run`, `Run` and `shipped_scenarios` live in `cfx.api`;
they are imported on first use so that ``import cfx`` stays light, and so
is ``__version__`` (importlib.metadata alone costs a replay ~3 MB).
"""

from __future__ import annotations

from typing import Any

__all__ = ["Run", "__version__", "load", "open_run", "run", "shipped_scenarios"]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib import metadata

        try:
            return metadata.version("cfx")
        except metadata.PackageNotFoundError:  # running from a source tree that is not installed
            return "0+unknown"
    if name in ("Run", "load", "open_run", "run", "shipped_scenarios"):
        from cfx import api

        return getattr(api, name)
    raise AttributeError(f"module 'cfx' has no attribute {name!r}")
