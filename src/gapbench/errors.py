"""One exception for bad user input, rendered by the CLI as a single line.

Every loader raises :class:`InputError` naming the file, the record (line number, image id,
utterance id...) and what was expected, so a user can fix the input without reading a traceback.
"""
from __future__ import annotations

from os import PathLike


class InputError(ValueError):
    """Bad input: which file, which record, what was expected (and what was found)."""

    def __init__(
        self,
        file: str | PathLike[str] | None,
        record: str | int | None,
        expected: str,
        got: object = None,
    ) -> None:
        self.file = str(file) if file is not None else None
        self.record = record
        self.expected = expected
        self.got = got
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = self.file or "<input>"
        if self.record is not None:
            rec = f"line {self.record}" if isinstance(self.record, int) else str(self.record)
            where = f"{where}: {rec}"
        msg = f"{where}: expected {self.expected}"
        if self.got is not None:
            got = repr(self.got)
            if len(got) > 80:
                got = got[:77] + "..."
            msg += f", got {got}"
        return msg


class ModelError(RuntimeError):
    """A model failed or answered wrongly: which model, which batch or sample, what happened."""
