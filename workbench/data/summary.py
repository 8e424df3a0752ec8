"""The account of a dataset's rows: how many were read, used and dropped, and why.

``RowAccount`` counts every dropped row under one reason (its first problem, in the order the
columns were asked for): ``empty <column>``, ``unreadable number in <column>``, ``unreadable date
in <column>``, ``non-finite number in <column>``, ``formula with no saved value in <column>``
(Excel), ``unseen level of <column>`` (predict) or ``filtered out by where``. ``as_dict`` is what
result.json's ``data`` section carries; ``sentence`` says it in one English line, e.g.
"28 of 891 rows dropped: 23 empty Sessions, 5 unreadable dates in date; first at row 12".
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["RowAccount", "FILTERED"]

FILTERED = "filtered out by where"
_PLURALS = (("unreadable number ", "unreadable numbers "), ("unreadable date ", "unreadable dates "),
            ("non-finite number ", "non-finite numbers "), ("formula ", "formulas "),
            ("unseen level ", "unseen levels "))


@dataclass
class RowAccount:
    rows_read: int
    rows_used: int
    by_reason: dict[str, int] = field(default_factory=dict)     # largest count first
    first_row: int | None = None                                # spreadsheet row of the first drop

    @property
    def total(self) -> int:
        return self.rows_read - self.rows_used

    @property
    def unusable(self) -> int:
        """Rows dropped for their values (a where filter drops rows on purpose)."""
        return self.total - self.by_reason.get(FILTERED, 0)

    def as_dict(self) -> dict:
        return {"rows_read": self.rows_read, "rows_used": self.rows_used,
                "dropped": {"total": self.total, "by_reason": dict(self.by_reason), "first_row": self.first_row}}

    def reasons(self) -> str:
        """The dropped rows counted by reason, e.g. '23 empty Sessions, 5 unreadable dates in date'."""
        return ", ".join(f"{count} {_plural(reason, count)}" for reason, count in self.by_reason.items())

    def sentence(self) -> str:
        if not self.total:
            return f"all {self.rows_read:,} rows used"
        return f"{self.total:,} of {self.rows_read:,} rows dropped: {self.reasons()}; first at row {self.first_row}"


def _plural(reason: str, count: int) -> str:
    if count == 1:
        return reason
    for one, many in _PLURALS:
        if reason.startswith(one):
            return many + reason[len(one):]
    return reason
