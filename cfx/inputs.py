"""Reading the text files users give cfx: UTF-8, one rule for all of them.

Every text input (order CSV, LOBSTER files, scenario, sweep and index TOML,
quote, fixing, futures and dealer-book CSVs) is read here, so each follows
the same rules:

- it must be UTF-8; an invalid byte is an `InputError` naming the file, the
  line and the byte offset in the file (``orders.csv:3: invalid UTF-8 byte
  0xff at byte offset 57``);
- one leading UTF-8 byte-order mark is skipped (spreadsheets write one);
- a line longer than `LINE_LIMIT` (1 MiB) is an `InputError` naming it,
  before it is in memory whole (``/dev/zero`` is one endless line).

CSV rows, columns and their errors are `cfx.csvfile`'s, on these lines.

Files are read in chunks of whole lines, so memory stays flat in the
file's length.
"""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path
from typing import IO, Iterator

from cfx.errors import InputError

BOM = b"\xef\xbb\xbf"
# bytes of whole lines decoded at a time: small, because the chunk's copies (lines,
# joined bytes, text, StringIO) stay in the heap: 1 MiB chunks cost a 20k-message replay 5.7 MB of peak RSS
CHUNK = 1 << 13
# the longest line read: a longer one is an error before it is in memory whole. Far above
# any real row, and above the csv module's field limit (131,072 characters, `cfx.csvfile.FIELD_LIMIT`),
# so a line with one over-long field still gets that message
LINE_LIMIT = 1 << 20


def open_binary(path: str | Path, what: str = "file", verb: str = "open") -> IO[bytes]:
    """Open a file users named for reading; a missing or unreadable file,
    or a directory, is an `InputError` (``PATH: cannot open WHAT: why``)."""
    try:
        f = open(path, "rb")
    except IsADirectoryError:
        raise InputError(f"{path}: cannot {verb} {what}: is a directory") from None
    except OSError as e:
        raise InputError(f"{path}: cannot {verb} {what}: {e.strerror}") from None
    if stat.S_ISDIR(os.fstat(f.fileno()).st_mode):
        f.close()
        raise InputError(f"{path}: cannot {verb} {what}: is a directory")
    return f


def _bad_byte(source: str, data: bytes, err: UnicodeDecodeError, line0: int, offset0: int) -> InputError:
    """The InputError for an invalid byte at ``err.start`` of ``data``, a
    chunk that starts at line ``line0`` and file offset ``offset0``."""
    line = line0 + data.count(b"\n", 0, err.start)
    byte = data[err.start]
    return InputError(
        f"{source}:{line}: invalid UTF-8 byte 0x{byte:02x} at byte offset {offset0 + err.start} "
        f"(the file must be UTF-8 text)"
    )


def decode(data: bytes, source: str) -> str:
    """A whole file's bytes as text: BOM skipped, invalid UTF-8 named by
    line and byte offset."""
    skip = len(BOM) if data.startswith(BOM) else 0
    try:
        return data[skip:].decode("utf-8")
    except UnicodeDecodeError as e:
        raise _bad_byte(source, data[skip:], e, 1, skip) from None


def read_bytes(path: str | Path, what: str = "file") -> bytes:
    """A whole (small) file's bytes."""
    with open_binary(path, what, "read") as f:
        try:
            return f.read()
        except OSError as e:
            raise InputError(f"{path}: cannot read {what}: {e.strerror}") from None


def read_text(path: str | Path, what: str = "file") -> str:
    """A whole (small) text file, e.g. a TOML document (see `decode`)."""
    return decode(read_bytes(path, what), str(path))


def lines(f: IO[bytes], source: str) -> Iterator[str]:
    """The lines of an open binary file as text (newlines kept), decoded a
    chunk of whole lines at a time. A line longer than `LINE_LIMIT` bytes
    is an `InputError` naming it, raised once the lines before it are
    yielded: it is never read whole (``/dev/zero`` is one endless line)."""
    line0, offset = 1, 0
    first = True
    while True:
        long = False
        try:
            data = f.read(CHUNK)
            if data and data[-1] != 10:  # complete the last line, reading no more than the limit allows
                cut = data.rfind(b"\n") + 1
                data += f.readline(LINE_LIMIT + 1 - (len(data) - cut))
                if data[-1] != 10 and len(data) - cut > LINE_LIMIT:
                    long = True
                    data = data[:cut]  # the whole lines before it are still read
        except OSError as e:
            raise InputError(f"{source}: cannot read: {e.strerror}") from None
        if not data and not long:
            return
        skip = 0
        if first:
            first = False
            if data.startswith(BOM):
                skip = len(BOM)
        try:
            text = data[skip:].decode("utf-8")
        except UnicodeDecodeError as e:
            raise _bad_byte(source, data[skip:], e, line0, offset + skip) from None
        yield from io.StringIO(text)  # splits on "\n" only, keeping it, as csv wants
        line0 += data.count(b"\n")
        offset += len(data)
        if long:
            raise InputError(f"{source}:{line0}: a line is longer than {LINE_LIMIT:,} bytes")


def text_lines(path: str | Path, what: str = "file") -> Iterator[str]:
    """The lines of a text file at ``path`` (see `lines`)."""
    with open_binary(path, what) as f:
        yield from lines(f, str(path))
