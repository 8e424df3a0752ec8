"""Dates and files around predictions: the forecast step (``--every``), date texts, and writing
the predicted rows as .csv or .xlsx (``workbench predict --out``)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from workbench.errors import InputError

__all__ = ["parse_every", "parse_date", "date_texts", "raw_frame", "write_prediction"]


def parse_every(text: str) -> np.timedelta64:
    """``1d``, ``7d``, ``2w`` or ``12h`` as a step between forecast dates."""
    match = re.fullmatch(r"\s*(\d+)\s*([hdw])\s*", str(text))
    if not match or int(match.group(1)) == 0:
        raise InputError(f"must be a positive whole number of hours, days or weeks such as 1d, 7d, 2w or 12h, "
                         f"got {text!r}", where="--every")
    count, unit = int(match.group(1)), match.group(2)
    hours = count * {"h": 1, "d": 24, "w": 24 * 7}[unit]
    return np.timedelta64(hours, "h")


def parse_date(text: str, option: str) -> np.datetime64:
    import pandas as pd

    try:
        stamp = pd.Timestamp(str(text))
    except (ValueError, TypeError):
        raise InputError(f"must be a date like 2024-12-31, got {text!r}", where=option) from None
    return np.datetime64(stamp.tz_localize(None) if stamp.tzinfo else stamp).astype("datetime64[ns]")


def date_texts(stamps) -> list[str]:
    """Dates as ISO text in one format for all: ``2024-12-31`` when every one is at midnight, else
    ``2024-12-31 12:00:00`` for every one (a column never mixes the two)."""
    import pandas as pd

    values = [pd.Timestamp(s) for s in stamps]
    if all(v == v.normalize() for v in values):
        return [v.date().isoformat() for v in values]
    return [v.isoformat(sep=" ") for v in values]


def raw_frame(table, names: list[str]):
    """The raw rows of ``table`` (text as written, Excel cell values) as a DataFrame."""
    import pandas as pd

    return pd.DataFrame({name: table.cells[name] for name in names}, columns=names,
                        index=pd.Index(table.row_numbers, name="row"))


def write_prediction(frame, target: Path) -> Path:
    """``frame`` as a .csv or .xlsx file (by ``target``'s extension), written atomically. In the
    workbook, text columns that hold only plain numbers become numbers, and no text is a formula."""
    import io

    import pandas as pd

    from workbench.atomic import write_bytes, write_text

    target = Path(target)
    suffix = target.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise InputError(f"must end in .csv or .xlsx, got {target.name!r}", where="--out")
    if not target.parent.is_dir():
        raise InputError(f"the folder {target.parent} does not exist", where="--out")
    if suffix == ".csv":
        return write_text(target, frame.to_csv(index=False, lineterminator="\n"))
    sheet = frame.copy()
    for name in sheet.columns:
        if sheet[name].dtype == object:
            numbers = pd.to_numeric(sheet[name], errors="coerce")
            if numbers.notna().sum() == sheet[name].notna().sum():
                sheet[name] = numbers
    buffer = io.BytesIO()
    options = {"options": {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}}
    with pd.ExcelWriter(buffer, engine="xlsxwriter", engine_kwargs=options) as writer:
        sheet.to_excel(writer, sheet_name="predictions", index=False, freeze_panes=(1, 0))
    return write_bytes(target, buffer.getvalue())
