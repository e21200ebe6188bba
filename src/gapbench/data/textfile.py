"""Reading text inputs the same way in every loader: UTF-8 with an optional byte-order mark,
``\\n`` or ``\\r\\n`` line endings, ``-`` for standard input where a loader allows it.

* A leading UTF-8 byte-order mark is dropped (as the ``utf-8-sig`` codec does), so a file saved
  by Notepad reads like the same file without it.
* Bytes that are not UTF-8 raise one :class:`~gapbench.errors.InputError` naming the file, the
  line and the byte offset, never a ``UnicodeDecodeError`` traceback.
* Lines end at ``\\n`` only (a trailing ``\\r`` is dropped); a carriage return anywhere else in a
  line (old Mac line endings) is refused, because whitespace splitting would silently merge two
  records into one. Unicode line separators (U+2028...) do not end a line.
"""
from __future__ import annotations

import os
import sys
from os import PathLike
from pathlib import Path

from gapbench.errors import InputError

STDIN = "-"
STDIN_NAME = "<stdin>"
BOM = b"\xef\xbb\xbf"


def is_stdin(path: str | PathLike[str]) -> bool:
    """Whether ``path`` is the ``-`` that stands for standard input."""
    return isinstance(path, str) and path == STDIN


def display_name(path: str | PathLike[str]) -> str:
    """The name errors use: ``<stdin>`` for ``-``, else the path as given."""
    return STDIN_NAME if is_stdin(path) else os.fspath(path)


def check_one_stdin(*paths: str | PathLike[str] | None) -> None:
    """Refuse more than one ``-``: standard input can be read only once."""
    n = sum(1 for p in paths if p is not None and is_stdin(p))
    if n > 1:
        raise InputError(
            STDIN_NAME, None, f"at most one input read from standard input ('-' given {n} times)"
        )


def read_bytes(path: str | PathLike[str], *, allow_stdin: bool = False) -> bytes:
    """The raw bytes of a file, or of standard input (read once, whole) for ``-``."""
    if allow_stdin and is_stdin(path):
        buffer = getattr(sys.stdin, "buffer", None)
        if buffer is not None:
            return buffer.read()
        return sys.stdin.read().encode("utf-8", "surrogateescape")
    return Path(path).read_bytes()


def decode_utf8(data: bytes, name: str | PathLike[str]) -> str:
    """Decode UTF-8 (a leading byte-order mark is dropped); one-line error on a bad byte."""
    skip = len(BOM) if data.startswith(BOM) else 0
    try:
        return data[skip:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = exc.start + skip
        line = data.count(b"\n", 0, offset) + 1
        raise InputError(
            name, line, "UTF-8 text", f"byte 0x{data[offset]:02x} at byte offset {offset}"
        ) from None


def read_text(path: str | PathLike[str], *, allow_stdin: bool = False) -> str:
    """A whole text input decoded (see :func:`decode_utf8`)."""
    return decode_utf8(read_bytes(path, allow_stdin=allow_stdin), display_name(path))


def split_lines(text: str, name: str | PathLike[str]) -> list[str]:
    """Lines of ``text`` split at ``\\n``, each without its trailing ``\\r``; a ``\\r`` elsewhere
    in a line raises :class:`InputError` with its line number."""
    lines = text.split("\n")
    if "\r" not in text:
        return lines
    out = []
    for number, line in enumerate(lines, start=1):
        if line.endswith("\r"):
            line = line[:-1]
        if "\r" in line:
            raise InputError(name, number, "lines ending in \\n or \\r\\n (a bare \\r ends no line here; "
                             "convert old Mac line endings)", line)
        out.append(line)
    return out


def read_lines(path: str | PathLike[str], *, allow_stdin: bool = False) -> list[str]:
    """:func:`read_text` then :func:`split_lines`."""
    return split_lines(read_text(path, allow_stdin=allow_stdin), display_name(path))
