"""Reading the CSV files users give cfx: one reader, one form of error.

Every CSV input is read here: order messages (`cfx.replay`), LOBSTER
message and orderbook files (`cfx.lobster`), quotes and fixings
(`cfx.index`), futures settlements and dealer books (`cfx.hedge`). Text is
decoded by `cfx.inputs` (UTF-8, one BOM skipped). Every error is one
`InputError` line that names the file and the line: ``PATH:LINE: what``.

- `CsvRows`: the rows as ``(line, cells)``, blank rows skipped; a field
  longer than `FIELD_LIMIT` or broken quoting is an error with its line.
- `Table`: a file with a header row; `require` names the missing columns
  (``PATH:1: missing column(s) price (have date, sku)``); each row of the
  wrong width is ``PATH:LINE: expected 7 fields, got 6``; rows come as
  `Record` s, cells stripped and by column name, whose `field_error` is
  ``PATH:LINE: field 'price': why``.
- `plain_rows`: the rows of a file of bare comma-separated numbers, no
  quoting (LOBSTER), split as fast as `str.split` does.
- `missing_columns`, `wrong_width`: the two header and shape errors, for a
  reader with its own hot loop (the order CSV).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO

from cfx.errors import InputError
from cfx.inputs import lines, open_binary, text_lines

FIELD_LIMIT = csv.field_size_limit()  # 131,072 characters, the csv module's default


def missing_columns(
    path: str, line: int, missing: Sequence[str], have: Sequence[str], expected: str = ""
) -> InputError:
    """``PATH:LINE: missing column(s) a, b (have x, y)[; expected]``."""
    more = f"; {expected}" if expected else ""
    return InputError(f"{path}:{line}: missing column(s) {', '.join(missing)} (have {', '.join(have)}){more}")


def wrong_width(path: str, line: int, want: int, got: int) -> InputError:
    """``PATH:LINE: expected N fields, got M``."""
    return InputError(f"{path}:{line}: expected {want} fields, got {got}")


class CsvRows:
    """The rows of a CSV text file as ``(line number, row)``; errors of the
    file become `InputError` with its line. ``header=True`` reads the first
    row into `header` (an empty file is an error). ``f`` reads an open
    binary file instead of opening ``path``; ``text`` reads text lines
    (``path`` then only names them in errors)."""

    def __init__(
        self,
        path: str | Path,
        what: str = "CSV file",
        *,
        header: bool = True,
        f: IO[bytes] | None = None,
        text: Iterable[str] | None = None,
    ) -> None:
        self.path = str(path)
        self._f = None if text is not None else f if f is not None else open_binary(path, what)
        self._reader = csv.reader(text if text is not None else lines(self._f, self.path))
        self.header: list[str] = []
        if header:
            first = self._next()
            if first is None:
                self.close()
                raise InputError(f"{path}:1: empty file, expected a header row")
            self.header = [h.strip() for h in first]

    @property
    def line(self) -> int:
        """The line the last row ended on."""
        return self._reader.line_num

    def _next(self) -> list[str] | None:
        try:
            return next(self._reader, None)
        except csv.Error as e:
            self.close()
            msg = str(e)
            if "field larger than field limit" in msg:
                msg = f"a field is longer than {FIELD_LIMIT:,} characters"
            raise InputError(f"{self.path}:{self._reader.line_num}: not readable as CSV: {msg}") from None
        except InputError:
            self.close()
            raise

    def close(self) -> None:
        if self._f is not None:
            self._f.close()

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        try:
            while (row := self._next()) is not None:
                if row and any(c.strip() for c in row):
                    yield self._reader.line_num, row
        finally:
            self.close()


class Record:
    """One data row of a `Table`: its cells by column name (stripped) and
    the line it ends on."""

    __slots__ = ("path", "line", "cells")

    def __init__(self, path: str, line: int, cells: dict[str, str]) -> None:
        self.path = path
        self.line = line
        self.cells = cells

    def __getitem__(self, column: str) -> str:
        return self.cells[column]

    def get(self, column: str | None, default: str = "") -> str:
        """The cell of ``column``; ``default`` when the file has no such column."""
        return self.cells.get(column, default) if column is not None else default

    def error(self, message: str) -> InputError:
        """``PATH:LINE: message``."""
        return InputError(f"{self.path}:{self.line}: {message}")

    def field_error(self, column: str, why: object) -> InputError:
        """``PATH:LINE: field 'column': why``: a cell that does not parse."""
        return self.error(f"field {column!r}: {why}")


class Table:
    """A CSV file with a header row, its data rows as `Record` s (each of
    the header's width). ``lower`` matches column names case-blind."""

    def __init__(self, path: str | Path, what: str = "CSV file", *, lower: bool = False) -> None:
        self.path = str(path)
        self._rows = CsvRows(path, what)
        self.given = self._rows.header  # as the file spells it
        self.header = [h.lower() for h in self.given] if lower else list(self.given)

    def pick(self, *names: str) -> str | None:
        """The first of ``names`` the header has (a column's accepted spellings)."""
        return next((n for n in names if n in self.header), None)

    def require(self, columns: Iterable[str], expected: str = "") -> None:
        """Stop (closing the file) unless every one of ``columns`` is there."""
        missing = [c for c in columns if c not in self.header]
        if missing:
            raise self.header_error(missing, expected)

    def header_error(self, missing: Sequence[str], expected: str = "") -> InputError:
        """The `missing_columns` error of this file; closes it."""
        self.close()
        return missing_columns(self.path, 1, missing, self.given, expected)

    def close(self) -> None:
        self._rows.close()

    def __iter__(self) -> Iterator[Record]:
        header, path = self.header, self.path
        width = len(header)
        for line, row in self._rows:
            if len(row) != width:
                self.close()
                raise wrong_width(path, line, width, len(row))
            yield Record(path, line, dict(zip(header, (c.strip() for c in row))))


def plain_rows(path: str | Path, what: str) -> Iterator[tuple[int, list[str]]]:
    """``(line, fields)`` of a file of bare comma-separated values (no
    quoting, as LOBSTER writes them); blank lines skipped."""
    for lineno, line in enumerate(text_lines(path, what), 1):
        line = line.strip()
        if line:
            yield lineno, line.split(",")
