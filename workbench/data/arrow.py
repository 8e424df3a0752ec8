"""Python strings to a pyarrow string array without importing pandas.

``pyarrow.array`` imports pandas on first use (to check for pandas objects), a third of a second
that a plain CSV should not pay; building the array from its two buffers (the UTF-8 bytes and
the offsets) does not.
"""

from __future__ import annotations

import numpy as np

__all__ = ["string_array"]


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
    values[~_valid(array)] = np.nan
    return values


def bool_values(array) -> np.ndarray:
    """A pyarrow boolean array as numpy, False where null."""
    if len(array) == 0:
        return np.zeros(0, dtype=bool)
    return _bits(array.buffers()[1], array.offset, len(array)) & _valid(array)
