"""Dates written the way the DATE benchmark (BIG-bench date understanding) expects: MM/DD/YYYY.

Model replies also write dates as "May 1, 2021", "1 May 2021" or "2021-05-01"; all of them are
read and normalized to zero-padded ``MM/DD/YYYY``. Strings that only look like dates (month 13,
February 30) are not dates.
"""

from __future__ import annotations

import datetime
import re

from uniscale.answers._validate import check_text

__all__ = ["date_key", "dates_equal", "extract_date", "normalize_date"]

_MONTHS = {
    name: index
    for index, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_MONTH = "(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(\d{4})"

# (pattern, order of the groups as (month, day, year) indices)
_PATTERNS: tuple[tuple[re.Pattern[str], tuple[int, int, int]], ...] = (
    (re.compile(r"(?<!\d)(\d{1,2})/(\d{1,2})/(\d{4})(?!\d)"), (1, 2, 3)),
    (re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)"), (2, 3, 1)),
    (re.compile(r"\b" + _MONTH + r"\s+" + _DAY + r",?\s+" + _YEAR + r"\b", re.I), (1, 2, 3)),
    (
        re.compile(r"\b" + _DAY + r"\s+(?:of\s+)?" + _MONTH + r",?\s+" + _YEAR + r"\b", re.I),
        (2, 1, 3),
    ),
)


def _to_date(month: str, day: str, year: str) -> datetime.date | None:
    month_number = _MONTHS.get(month.lower().rstrip(".")) if not month.isdigit() else int(month)
    if month_number is None:
        return None
    try:
        return datetime.date(int(year), month_number, int(day))
    except ValueError:
        return None


def _find_dates(text: str) -> list[tuple[int, datetime.date]]:
    found = []
    for pattern, (im, iday, iy) in _PATTERNS:
        for match in pattern.finditer(text):
            date = _to_date(match.group(im), match.group(iday), match.group(iy))
            if date is not None:
                found.append((match.end(), date))
    return found


def _format(date: datetime.date) -> str:
    return f"{date.month:02d}/{date.day:02d}/{date.year:04d}"


def extract_date(text: str) -> str | None:
    """Return the last valid date written in ``text`` as ``MM/DD/YYYY``, or None.

    >>> extract_date("Today is 4/30/2021, so tomorrow is May 1, 2021.")
    '05/01/2021'
    """
    found = _find_dates(text)
    if not found:
        return None
    return _format(max(found, key=lambda item: item[0])[1])


def normalize_date(answer: str) -> str | None:
    """``MM/DD/YYYY`` form of an answer that is exactly one date, else None.

    Raises
    ------
    TypeError
        ``answer`` is not a string.
    """
    check_text("normalize_date", "answer", answer)
    found = _find_dates(answer)
    if len({date for _, date in found}) != 1:
        return None
    return _format(found[0][1])


def date_key(answer: str) -> str | None:
    """Voting key of a date answer: its ``MM/DD/YYYY`` form (None when it is not one date)."""
    return normalize_date(answer)


def dates_equal(a: str, b: str) -> bool:
    """Whether both answers are the same calendar date."""
    key = normalize_date(a)
    return key is not None and key == normalize_date(b)
