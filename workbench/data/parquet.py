"""Parquet input: columns read by pyarrow only when a dataset asks for them.

A Parquet file carries its column names and types, so nothing is guessed: numeric columns become
float64 as stored, text columns are trimmed (empty text is an empty cell) and converted like a
text file's, date and timestamp columns are dates. Row numbers are those a CSV export of the
table would show (the header on row 1, the first data row on row 2), so messages read the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from workbench.data.files import check_regular_file, file_digest
from workbench.errors import InputError

__all__ = ["read_parquet", "ParquetColumns"]


class ParquetColumns(Mapping):
    """name -> pyarrow array of one column, read from the file on first use and kept."""

    def __init__(self, path: Path, names: list[str], n_rows: int, where: str, stored: Mapping[str, str] | None = None):
        self.path, self.names, self.n_rows, self.where = path, list(names), n_rows, where
        self.stored = dict(stored or {})          # name -> the column's name in the file, when renamed
        self._read: dict[str, object] = {}

    def renamed(self, names: list[str], old_names: list[str]) -> "ParquetColumns":
        """The same columns under new names (``names[i]`` was ``old_names[i]``)."""
        return ParquetColumns(self.path, names, self.n_rows, self.where,
                              {new: self.stored.get(old, old) for new, old in zip(names, old_names)})

    def __getitem__(self, name: str):
        if name not in self.names:
            raise KeyError(name)
        if name not in self._read:
            self._read[name] = _normalised(self._column(self.stored.get(name, name)))
        return self._read[name]

    def _column(self, name: str):
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            column = pq.read_table(self.path, columns=[name], use_threads=True).column(0)
        except (pa.ArrowException, OSError) as exc:
            raise InputError(f"cannot read column {name!r} of {self.path.name}: {exc}",
                             where=f"{self.where}.path") from None
        return column.combine_chunks()

    def __contains__(self, name) -> bool:
        return name in self.names

    def __iter__(self):
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


def _normalised(column):
    """Text trimmed and null where empty (as a text file's cells); other types as stored."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from workbench.data.arrow import null_where_empty

    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    if pa.types.is_large_string(column.type) or pa.types.is_string(column.type):
        return null_where_empty(pc.utf8_trim_whitespace(column.cast(pa.string())))
    return column


def read_parquet(path: Path, limits: Mapping, where: str):
    """The file as a ``RawTable`` whose columns are read lazily (see the module docstring)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from workbench.data.arrow import LazyCells
    from workbench.data.header import column_names
    from workbench.data.source import RawTable

    check_regular_file(path, limits, where)
    try:
        metadata = pq.read_metadata(path)
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"cannot read {path.name} as a Parquet file: {exc}", where=f"{where}.path") from None
    n_rows = int(metadata.num_rows)
    if n_rows == 0:
        raise InputError(f"{path.name} has a header (row 1) but no data rows below it", where=f"{where}.path")
    stored = list(schema.names)
    named = column_names(stored, lambda j: False)
    if [name for _, name in named] != stored:
        raise InputError(f"{path.name}: column names must be unique and not empty (found: {', '.join(stored)})",
                         where=f"{where}.path")
    arrays = ParquetColumns(path, stored, n_rows, where)
    return RawTable(path, None, file_digest(path, where), 1, tuple(stored), LazyCells(arrays),
                    np.arange(2, n_rows + 2), None, arrays)
