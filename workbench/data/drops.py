"""Which rows a dataset leaves out, why, and when leaving them out is not allowed.

Policies (``DataConfig``): ``missing`` for empty cells (``drop``, the default, or ``error``),
``unreadable`` for values that are not numbers or dates, NaN text and numbers too large for a
float (``error``, the default, or ``drop``), and ``max_dropped``: the largest share of rows that
may be dropped for their values (rows a ``where`` filter leaves out do not count) before the
dataset is refused. Messages name the file and the spreadsheet row.
"""

from __future__ import annotations

import numpy as np

from workbench.data.cells import BAD, FORMULA, MISSING, NOT_FINITE, OK, UNSEEN
from workbench.data.source import RawTable
from workbench.data.summary import FILTERED, RowAccount
from workbench.errors import InputError

__all__ = ["reason", "row_reason", "refuse_by_policy", "account_rows", "refuse_too_many_dropped"]


def shown(cell: object) -> str:
    return repr(cell) if isinstance(cell, str) else repr(str(cell))


def _categorical(name: str) -> str:
    """The categorical column of an indicator column ``region[North]``."""
    return name.rsplit("[", 1)[0] if name.endswith("]") and "[" in name else name


def reason(name: str, status: int, cell: object, is_date: bool) -> str:
    """A dropped or refused cell in words, with its value."""
    if status == MISSING:
        return f"missing {name!r}"
    if status == NOT_FINITE:
        return f"{name!r} is not a finite number: {shown(cell)}"
    if status == FORMULA:
        return f"{name!r} is a formula with no saved value ({cell}): open and save the file in Excel"
    if status == UNSEEN:
        return f"{_categorical(name)} {shown(cell)} is a level the fit never saw"
    return f"{name!r} is not a {'date' if is_date else 'number'}: {shown(cell)}"


def _reason_key(name: str, status: int, is_date: bool) -> str:
    """The reason a dropped row is counted under (see ``summary``)."""
    if status == MISSING:
        return f"empty {name}"
    if status == NOT_FINITE:
        return f"non-finite number in {name}"
    if status == FORMULA:
        return f"formula with no saved value in {name}"
    if status == UNSEEN:
        return f"unseen level of {_categorical(name)}"
    return f"unreadable {'date' if is_date else 'number'} in {name}"


def row_reason(raw: RawTable, wanted: list[str], status: np.ndarray, i: int, date_names: set[str]) -> str:
    """Why row ``i`` cannot be used: its first missing or bad value, in the order columns were asked for."""
    j = int(np.flatnonzero(status[:, i] != OK)[0])
    name = wanted[j]
    return reason(name, int(status[j, i]), raw.cell(name, i), name in date_names)


def refuse_by_policy(raw: RawTable, wanted: list[str], status: np.ndarray, passes: np.ndarray,
                     options, date_names: set[str], where: str) -> None:
    """Stop at the first row the policies do not allow to drop: an empty cell under ``missing:
    error``, an unreadable or non-finite value under ``unreadable: error`` (the default)."""
    refused = np.zeros(status.shape, dtype=bool)
    if options.missing == "error":
        refused |= status == MISSING
    if options.unreadable == "error":
        refused |= status >= BAD
    rows = np.flatnonzero(refused.any(axis=0) & passes)
    if not len(rows):
        return
    i = int(rows[0])
    j = int(np.flatnonzero(refused[:, i])[0])
    name = wanted[j]
    text = reason(name, int(status[j, i]), raw.cell(name, i), name in date_names)
    key = "missing" if status[j, i] == MISSING else "unreadable"
    raise InputError(f"{raw.path.name} row {raw.row_numbers[i]}: {text} (set {where}.{key}: drop to skip "
                     f"such rows)", where=where)


def account_rows(raw: RawTable, wanted: list[str], status: np.ndarray, passes: np.ndarray, keep: np.ndarray,
                 date_names: set[str]) -> RowAccount:
    """Every dropped row counted under its first problem; where-filtered rows under their own reason."""
    counts: dict[str, int] = {}
    unusable = np.flatnonzero(passes & ~keep)
    if len(unusable):
        first_col = np.argmax(status[:, unusable] != OK, axis=0)
        codes = first_col * 8 + status[first_col, unusable]
        for code, count in zip(*np.unique(codes, return_counts=True)):
            name = wanted[int(code) // 8]
            counts[_reason_key(name, int(code) % 8, name in date_names)] = int(count)
    filtered = int((~passes).sum())
    if filtered:
        counts[FILTERED] = filtered
    dropped = np.flatnonzero(~keep)
    return RowAccount(rows_read=len(keep), rows_used=int(keep.sum()),
                      by_reason=dict(sorted(counts.items(), key=lambda item: -item[1])),
                      first_row=int(raw.row_numbers[dropped[0]]) if len(dropped) else None)


def refuse_too_many_dropped(account: RowAccount, max_dropped: float, filename: str, where: str) -> None:
    if account.unusable <= max_dropped * account.rows_read:
        return
    raise InputError(f"{filename}: {account.sentence()}; that is more than {where}.max_dropped "
                     f"({max_dropped:.0%}) of the rows: fix the file, or raise {where}.max_dropped "
                     f"(a share, e.g. 0.5)", where=where)
