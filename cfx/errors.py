"""The one exception for a user's mistake, and how it reads.

Library code raises `InputError` for bad files, rows and settings with a
message that names the file, line or field; the CLI prints it on one line
and exits 2. `from_validation` is the one place a msgspec validation error
becomes that message. Anything else escaping to the CLI is a bug in cfx and
keeps its traceback.
"""

from __future__ import annotations

import re

_AT = re.compile(r"^(.*) - at `\$\.?(.*)`$", re.DOTALL)


class InputError(Exception):
    """Bad user input: a file, a CSV row, a scenario field or a flag."""


def one_line(message: str) -> str:
    """``message`` with its line breaks folded, as the CLI prints it."""
    return " ".join(part.strip() for part in str(message).splitlines() if part.strip())


def path_first(message: str) -> str:
    """msgspec says ``Expected int >= 1 - at `$.agents[2].spread-ticks```;
    say the path first: ``agents[2].spread-ticks: Expected int >= 1``."""
    m = _AT.match(message)
    if m is None:
        return message
    return f"{m.group(2) or '(top level)'}: {m.group(1)}"


def from_validation(source: str, error: Exception, fmt: str = "TOML") -> InputError:
    """The `InputError` for a msgspec validation (or decode) error of the
    document ``source`` (a file, or a file's record), written in ``fmt``."""
    import msgspec

    if isinstance(error, msgspec.ValidationError):
        return InputError(f"{source}: {one_line(path_first(str(error)))}")
    return InputError(f"{source}: not valid {fmt}: {one_line(str(error))}")
