"""What a subcommand hands back to the `cfx` command, and how it is printed.

A subcommand's function does its work and returns its result: a dict or a
msgspec Struct (printed as one JSON line, exit 0), ``None`` (nothing
printed, exit 0), or an `Output` when it needs another exit code or shape.
`emit` is the one place that encodes a result as JSON on stdout (Structs,
dates and enums as `msgspec.to_builtins` gives them; ``", "`` and ``": "``
between items, as the output always read); progress,
warnings and tables for people go to stderr or are printed by the
subcommand itself (``cfx hedge`` without ``--json``).
"""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

import msgspec


class Output(msgspec.Struct, frozen=True, kw_only=True):
    """A subcommand's result with how to print it: ``value`` as one JSON
    line (``lines``: a list, one JSON line per item; ``indent``: indented
    over several lines; ``None``: nothing), then exit with ``code``."""

    value: Any = None
    code: int = 0
    lines: bool = False
    indent: bool = False


def encode(output: Output) -> str:
    """The text `emit` prints for ``output`` (newline-terminated; empty for
    no value)."""
    if output.value is None:
        return ""
    items = output.value if output.lines else [output.value]
    indent = 2 if output.indent else None
    return "".join(json.dumps(msgspec.to_builtins(item), indent=indent) + "\n" for item in items)


def emit(result: Any, stream: TextIO | None = None) -> int:
    """Print a subcommand's result as JSON on stdout; return its exit code."""
    output = result if isinstance(result, Output) else Output(value=result)
    text = encode(output)
    if text:
        stream = stream or sys.stdout
        stream.write(text)
        stream.flush()
    return output.code
