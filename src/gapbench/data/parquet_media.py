"""Parquet data sets read a row group at a time where the bytes are (audio, images).

``pq.read_table`` decompresses a whole file into memory: for a Hub split of several gigabytes of
audio that is several gigabytes of RAM before the first sample. The small columns (text, labels,
ids) are read whole, since the loaders need them up front; the media columns (binary, or a
struct / list holding binary: the storage of ``datasets``' ``Audio`` and ``Image`` features) are
read one row group at a time when a sample needs them, the last group kept, so memory is one row
group's media whatever the data set's size.
"""
from __future__ import annotations

import bisect
import threading
from pathlib import Path
from typing import Any


def is_media(arrow_type: Any) -> bool:
    """Binary data, or a struct / list holding some (``struct<bytes: binary, path: string>``)."""
    import pyarrow as pa

    t = arrow_type
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return True
    if pa.types.is_struct(t):
        return any(is_media(t.field(k).type) for k in range(t.num_fields))
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return is_media(t.value_type)
    return False


class ParquetMedia:
    """Cells of the media columns of ``files`` (rows numbered across the files, in order)."""

    def __init__(self, files: list[Path], columns: list[str]) -> None:
        import pyarrow.parquet as pq

        self.columns = columns
        self._files = [pq.ParquetFile(str(f)) for f in files]
        self._groups: list[tuple[int, int]] = []  # (file, row group) in row order
        self._starts: list[int] = []
        row = 0
        for fi, pf in enumerate(self._files):
            for g in range(pf.metadata.num_row_groups):
                self._groups.append((fi, g))
                self._starts.append(row)
                row += pf.metadata.row_group(g).num_rows
        self._lock = threading.Lock()
        self._held: tuple[int, Any] | None = None  # (group index, its media columns)

    def cell(self, column: str, row: int) -> Any:
        """The cell as Python (``{"bytes": ..., "path": ...}`` for an Audio/Image column)."""
        k = bisect.bisect_right(self._starts, row) - 1
        with self._lock:
            if self._held is None or self._held[0] != k:
                fi, g = self._groups[k]
                self._held = (k, self._files[fi].read_row_group(g, columns=self.columns))
            return self._held[1].column(column)[row - self._starts[k]].as_py()
