"""One run per directory: a lock held for the run, and no mixing of runs.

`RunDir` claims a run directory for one `cfx run`: it takes an exclusive
lock on ``RUN_DIR/.lock`` (flock, released by the OS if the process dies),
so a second run into the same directory at the same time is refused; and
a directory that already holds a run's files is refused too, unless the
run is told to ``overwrite`` it (its run files are removed first) or to
``resume`` it. Either way a directory never holds two runs' files.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path

from cfx.errors import InputError

LOCK = ".lock"
# Everything a run writes (see cfx/sim/outputs.py and cfx/sim/run.py); the
# first five mark a directory as holding a run.
MARKERS = ("journal", "summary.json", "events.parquet", "checkpoint.pkl", ".parts")
RUN_FILES = (
    *MARKERS,
    "trades.parquet",
    "book_top.parquet",
    "fixings.parquet",
    "settlements.parquet",
    "accounts.parquet",
    "positions.parquet",
    "margin_calls.parquet",
    "defaults.parquet",
    "funding.parquet",
    "marks.parquet",
    "agents.parquet",
    "indicative.parquet",
    "timing.json",
    "run.log",
    "report.html",
    "compare.html",
    ".staging",
)


def holds_run(out: Path) -> list[str]:
    """The run files marking ``out`` as holding a run (none: free)."""
    return [m for m in MARKERS if (out / m).exists()]


def clear(out: Path) -> None:
    """Remove a run's files from ``out`` (other files stay)."""
    for name in RUN_FILES:
        p = out / name
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        elif p.exists() or p.is_symlink():
            p.unlink()


class RunDir:
    """``with RunDir(out, overwrite=..., resume=...):`` the directory is
    this run's until the block ends."""

    def __init__(self, out: str | Path, *, overwrite: bool = False, resume: bool = False) -> None:
        self.out = Path(out)
        self.overwrite = overwrite
        self.resume = resume
        self._fd: int | None = None

    def __enter__(self) -> "RunDir":
        out = self.out
        if self.resume and not out.is_dir():
            raise InputError(f"{out}: no such run directory to resume")
        try:
            out.mkdir(parents=True, exist_ok=True)
            fd = os.open(out / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        except FileExistsError:
            raise InputError(f"{out}: cannot use as a run directory: it is a file") from None
        except NotADirectoryError:
            raise InputError(f"{out}: cannot use as a run directory: a part of the path is a file") from None
        except OSError as e:
            raise InputError(f"{out}: cannot use as a run directory: {e.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise InputError(
                f"{out}: another cfx run (pid {holder}) is writing here; wait for it or use another --out"
            ) from None
        self._fd = fd
        try:
            if not self.resume:
                found = holds_run(out)
                if found and not self.overwrite:
                    raise InputError(
                        f"{out}: holds another run ({', '.join(found)}); pass --overwrite to replace "
                        f"it, --resume {out} to continue it, or use another --out"
                    )
                clear(out)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
