"""pyarrow arrays without pandas: strings in, floats and masks out, cells on demand.

``pyarrow.array`` imports pandas on first use (to check for pandas objects), a third of a second
that a plain CSV should not pay; building the array from its two buffers (the UTF-8 bytes and
the offsets) does not.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["string_array", "bool_array", "null_where_empty", "float_values", "bool_values", "valid_mask",
           "text_offsets", "text_bytes", "holds_byte", "TextView", "LazyCells"]


def string_array(texts: list[str]):
    """``texts`` as a ``pyarrow.StringArray`` (large_string when past 2 GiB of text)."""
    import pyarrow as pa

    joined = "".join(texts)
    data = joined.encode("utf-8")
    if len(data) == len(joined):            # ASCII: a character is a byte
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    else:
        lengths = np.fromiter((len(t.encode("utf-8")) for t in texts), dtype=np.int64, count=len(texts))
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if offsets[-1] < 2**31:
        return pa.StringArray.from_buffers(len(texts), pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data))
    return pa.LargeStringArray.from_buffers(len(texts), pa.py_buffer(offsets), pa.py_buffer(data))


def bool_array(mask: np.ndarray):
    """A numpy boolean mask as a ``pyarrow.BooleanArray`` (for ``filter``), built from its bits."""
    import pyarrow as pa

    bits = np.packbits(np.asarray(mask, dtype=bool), bitorder="little")
    return pa.BooleanArray.from_buffers(pa.bool_(), len(mask), [None, pa.py_buffer(bits)])


def text_offsets(text) -> np.ndarray:
    """Where each value of a pyarrow string array starts in its bytes, and where the last one ends
    (``len(text) + 1`` numbers: value i is ``bytes[offsets[i]:offsets[i + 1]]``)."""
    import pyarrow as pa

    width = np.int64 if pa.types.is_large_string(text.type) else np.int32
    return np.frombuffer(text.buffers()[1], dtype=width)[text.offset:text.offset + len(text) + 1]


def text_bytes(text) -> np.ndarray:
    """The UTF-8 bytes of a pyarrow string array's buffer (``text_offsets`` index into them)."""
    data = text.buffers()[2]
    return np.zeros(0, dtype=np.uint8) if data is None else np.frombuffer(data, dtype=np.uint8)


def holds_byte(text, byte: int) -> bool | None:
    """Whether some value of a pyarrow string array holds ``byte`` (a scan of its values' bytes);
    None when null slots hold bytes too (no reader here makes such arrays): the bytes cannot tell."""
    offsets = text_offsets(text)
    if offsets[-1] == offsets[0]:
        return False
    if text.null_count and np.any(np.diff(offsets)[~valid_mask(text)]):
        return None
    return bool(np.any(text_bytes(text)[offsets[0]:offsets[-1]] == byte))


def null_where_empty(text):
    """A string array with its empty strings made null (an empty cell), by rewriting its
    validity bits (comparing with a Python "" would make pyarrow import pandas)."""
    import pyarrow as pa

    n = len(text)
    offsets = text_offsets(text)
    filled = np.diff(offsets) > 0
    if text.null_count:
        filled &= valid_mask(text)
    elif filled.all():
        return text                         # no empty cell: nothing to rewrite
    validity = pa.py_buffer(np.packbits(filled, bitorder="little"))
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets - offsets[0]), text.buffers()[2].slice(int(offsets[0])),
                                       validity)


def _bits(buffer, offset: int, length: int) -> np.ndarray:
    raw = np.frombuffer(buffer, dtype=np.uint8)
    return np.unpackbits(raw, bitorder="little")[offset:offset + length].astype(bool)


def _valid(array) -> np.ndarray:
    validity = array.buffers()[0]
    if validity is None:
        return np.ones(len(array), dtype=bool)
    return _bits(validity, array.offset, len(array))


def float_values(array) -> np.ndarray:
    """A pyarrow float64 array as numpy, NaN where null (read from the buffers: no pandas)."""
    if len(array) == 0:
        return np.empty(0)
    values = np.frombuffer(array.buffers()[1], dtype=np.float64)[array.offset:array.offset + len(array)].copy()
    if array.null_count:
        values[~_valid(array)] = np.nan
    return values


def bool_values(array) -> np.ndarray:
    """A pyarrow boolean array as numpy, False where null."""
    if len(array) == 0:
        return np.zeros(0, dtype=bool)
    return _bits(array.buffers()[1], array.offset, len(array)) & _valid(array)


def valid_mask(array) -> np.ndarray:
    """True where a pyarrow array holds a value (not null)."""
    if len(array) == 0:
        return np.zeros(0, dtype=bool)
    return _valid(array)


class TextView:
    """A pyarrow string array read like a list of Python strings (``None`` where null), one
    cell at a time: error messages quote a few cells without converting the column."""

    def __init__(self, array):
        self.array = array

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, i):
        return self.array[int(i)].as_py()

    def __iter__(self):
        return iter(self.array.to_pylist())


class LazyCells(Mapping):
    """name -> object array of cells, built from a pyarrow column only when asked for.

    A text file's columns live as pyarrow string arrays (trimmed, null where empty), which is
    what conversion uses; the object arrays (``str`` or ``None`` per cell) that ``read_table`` and
    text-column features want are made on first use and kept.
    """

    def __init__(self, texts: Mapping):
        self._texts = texts
        self._made: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._made:
            cells = np.array(self._texts[name].to_pylist(), dtype=object)
            cells.flags.writeable = False
            self._made[name] = cells
        return self._made[name]

    def __contains__(self, name) -> bool:
        return name in self._texts

    def __iter__(self):
        return iter(self._texts)

    def __len__(self) -> int:
        return len(self._texts)
