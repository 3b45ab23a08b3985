"""Plain numbers: find the last one in a text, read it exactly, and compare with a tolerance.

GSM8K-style answers are plain numbers written with thousands separators, currency signs,
percent signs or as simple fractions. Values are read with :class:`fractions.Fraction`, so
``"0.5"``, ``"1/2"`` and ``"$0.50"`` are the same value without floating-point noise.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

__all__ = [
    "ABS_TOL",
    "extract_number",
    "number_text",
    "number_key",
    "numbers_equal",
    "parse_number",
]

#: Two numbers closer than this are the same answer (the tolerance used by the GSM8K regrading
#: in shared/data/mot_cascade); the voting key rounds to the same number of decimals.
ABS_TOL = 1e-4
_KEY_DECIMALS = 4

# A number: optional minus (not glued to a preceding word or closing bracket, so "3-5" yields
# 3 and 5 rather than -5), digits with optional thousands separators, optional decimals,
# optional "/denominator".
_NUMBER = re.compile(
    r"(?:(?<![\w)\]])[-\u2212])?"
    r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
    r"(?:/\d+(?:\.\d+)?)?"
    r"|(?:(?<![\w)\]])[-\u2212])?\.\d+"
)
_WRAPPING = re.compile(r"^[\s$\u20ac\u00a3(]*(.*?)[\s%.)]*$")


def extract_number(text: str) -> str | None:
    """Return the last number written in ``text``, without separators, or None.

    >>> extract_number("She makes 9 * $2 = $18 every day.")
    '18'
    >>> extract_number("That is $1,250.50 in total")
    '1250.50'
    """
    matches = _NUMBER.findall(text)
    if not matches:
        return None
    return matches[-1].replace(",", "").replace("\u2212", "-")


def parse_number(answer: str) -> Fraction | None:
    """Read one answer as an exact number; None when it is not a plain number.

    Accepts a leading currency sign, thousands separators, a trailing percent sign or period
    (the percent sign is dropped: "50%" reads as 50, the way GSM8K writes such answers) and
    ``a/b`` fractions.
    """
    match = _WRAPPING.match(answer.strip())
    body = match.group(1) if match else answer
    body = body.replace(",", "").replace("\u2212", "-").replace(" ", "")
    if not body:
        return None
    try:
        if "/" in body:
            num, den = body.split("/", 1)
            den_value = Fraction(den)
            if den_value == 0:
                return None
            return Fraction(num) / den_value
        return Fraction(body)
    except (ValueError, ZeroDivisionError):
        return None


def number_text(answer: str) -> str | None:
    """``answer`` without currency sign and separators when it is a plain number, else None.

    >>> number_text("$1,000")
    '1000'
    """
    match = _WRAPPING.match(answer.strip())
    body = match.group(1) if match else answer.strip()
    found = _NUMBER.fullmatch(body)
    return found.group(0).replace(",", "").replace("\u2212", "-") if found else None


def number_key(answer: str) -> str | None:
    """Voting key of a number: its value rounded to 4 decimals, without trailing zeros."""
    value = parse_number(answer)
    if value is None:
        return None
    if value.denominator == 1:
        return str(value.numerator)
    rounded = round(value, _KEY_DECIMALS)
    if rounded.denominator == 1:
        return str(rounded.numerator)
    text = f"{float(rounded):.{_KEY_DECIMALS}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def numbers_equal(a: str, b: str) -> bool:
    """Whether two answers are numbers within :data:`ABS_TOL` (relative 1e-9 for large ones)."""
    x, y = parse_number(a), parse_number(b)
    if x is None or y is None:
        return False
    return x == y or math.isclose(float(x), float(y), rel_tol=1e-9, abs_tol=ABS_TOL)
