"""Writing the files users name: whole or not at all, never over a device.

Every output path a user gives (``--out``, ``--fills``, ``--events``,
``--book``, a report, a fixings CSV) goes through `target`, and is written
by `atomic` or `write_atomic`: the data goes to a temporary file in the same
directory, which is renamed over the target when complete, so a crash
leaves either the old file, the new one, or none; never half of one.

- a path that exists and is not a regular file (a device, FIFO or socket)
  is refused; a directory too;
- a symlink is written through: its target is replaced, the link stays;
- a path that cannot be written is an `InputError` (one line, exit 2),
  checked by `check` (or, for a folder of outputs, `check_dir`) before any
  long work starts.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import IO, Iterator

from cfx.errors import InputError


def target(path: str | Path, flag: str = "") -> Path:
    """The regular file that writing ``path`` replaces: ``path`` itself or,
    for a symlink, what it points to. Refuses devices, FIFOs, sockets and
    directories."""
    name = f"{flag} {path}" if flag else str(path)
    p = Path(path)
    if p.is_symlink():
        p = Path(os.path.realpath(p))
    try:
        st = os.stat(p)
    except FileNotFoundError:
        return p
    except OSError as e:
        raise InputError(f"{name}: cannot write: {e.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{name}: cannot write: is a directory")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{name}: cannot write: exists and is not a regular file (a device, FIFO or socket)")
    return p


def check(path: str | Path, flag: str = "") -> Path:
    """`target`, plus: its folder exists (or can be made) and is writable.
    Call it before the work whose result goes there."""
    name = f"{flag} {path}" if flag else str(path)
    p = target(path, flag)
    folder = p.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"{name}: cannot write: {e.strerror}") from None
    if not folder.is_dir():
        raise InputError(f"{name}: cannot write: {folder} is not a directory")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"{name}: cannot write: permission denied in {folder}")
    return p


def check_dir(path: str | Path, flag: str = "") -> Path:
    """A folder a command writes its files into (``cfx hedge --out``): it is
    a folder or can be made, and a file can be created in it. Call it before
    the work whose results go there; a folder made to find out is removed
    again (the command makes it when it writes), so a refusal leaves nothing."""
    name = f"{flag} {path}" if flag else str(path)
    p = Path(path)
    if os.path.lexists(p) and not p.is_dir():
        raise InputError(f"{name}: cannot write: exists and is not a folder")
    made = []  # the folders this check creates, deepest first
    d = p
    while not os.path.lexists(d) and d != d.parent:
        made.append(d)
        d = d.parent
    import tempfile

    try:
        p.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".cfx-probe.", dir=p)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise InputError(f"{name}: cannot write: {e.strerror}") from None
    finally:
        for m in made:
            with contextlib.suppress(OSError):
                m.rmdir()
    return p


@contextlib.contextmanager
def atomic(path: str | Path, mode: str = "wb", flag: str = "", **kwargs) -> Iterator[IO]:
    """Open a temporary file next to ``path``'s target for writing; on
    success it is flushed, synced and renamed over the target; on an
    exception it is removed."""
    p = check(path, flag)
    name = f"{flag} {path}" if flag else str(path)
    import tempfile  # here: only a command that writes a file pays for it (and for random, shutil)

    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    except OSError as e:
        raise InputError(f"{name}: cannot write: {e.strerror}") from None
    try:
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, p)
    except OSError as e:
        _unlink(tmp)
        raise InputError(f"{name}: cannot write: {e.strerror}") from None
    except BaseException:
        _unlink(tmp)
        raise


def write_atomic(path: str | Path, data: bytes | str, flag: str = "") -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` whole; return the file written."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    with atomic(path, "wb", flag) as f:
        f.write(data)
    return target(path, flag)


def _unlink(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
