"""Plain numbers: find the last one in a text, read it exactly, and compare with a tolerance.

GSM8K-style answers are plain numbers written with thousands separators, currency signs,
percent signs or as simple fractions. Values are read with :class:`fractions.Fraction`, so
``"0.5"``, ``"1/2"`` and ``"$0.50"`` are the same value without floating-point noise. Values
beyond 10**±1000 (``"1e999999999"``) are kept as :class:`decimal.Decimal` instead, so that no
giant integer is ever built, and compared with the same tolerances.
"""

from __future__ import annotations

import math
import re
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal, DivisionByZero, InvalidOperation
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
_REL_TOL = Fraction(1, 10**9)
_DEC_REL_TOL = Decimal("1e-9")
_DEC_ABS_TOL = Decimal(str(ABS_TOL))
#: Values of magnitude within 10**±_EXACT_EXPONENT are read as exact fractions; beyond, as
#: Decimal (the same bound as uniscale.aggregate.canonical.numeric_key, for the same reason).
_EXACT_EXPONENT = 1000
# Decimal arithmetic over the whole exponent range; an overflow gives ±Infinity, which the
# tolerance test then handles as "far apart".
_WIDE = Context(prec=60, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[InvalidOperation, DivisionByZero])
# One decimal literal, as Fraction and Decimal both read it (no underscores, no inf/nan).
_LITERAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")

# A number: optional minus (not glued to a preceding word or closing bracket, so "3-5" yields
# 3 and 5 rather than -5), digits with optional thousands separators, optional decimals, an
# optional exponent ("1e999999" is one number, not 1 and 999999), optional "/denominator".
_EXP = r"(?:[eE][-+\u2212]?\d+)?"
_NUMBER = re.compile(
    r"(?:(?<![\w)\]])[-\u2212])?"
    r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?" + _EXP + r"(?:/\d+(?:\.\d+)?" + _EXP + r")?"
    r"|(?:(?<![\w)\]])[-\u2212])?\.\d+" + _EXP
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


def _literal(text: str) -> Decimal | None:
    """One decimal literal read exactly, or None; exponents past decimal's range are None."""
    if not _LITERAL.fullmatch(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # an exponent beyond ±999999999999999999
        return None


def parse_number(answer: str) -> Fraction | Decimal | None:
    """Read one answer as a number; None when it is not a plain number.

    Accepts a leading currency sign, thousands separators, a trailing percent sign or period
    (the percent sign is dropped: "50%" reads as 50, the way GSM8K writes such answers),
    scientific notation (``"1.5e3"``) and ``a/b`` fractions.

    Returns
    -------
    Fraction, Decimal or None
        A :class:`~fractions.Fraction`, exact, when the value is 0 or its magnitude lies within
        10**±1000; beyond that a :class:`~decimal.Decimal` (exact for a literal, a quotient
        rounded to 60 significant digits), because the exact fraction of ``"1e999999999"``
        would be an integer of a billion digits.
    """
    match = _WRAPPING.match(answer.strip())
    body = match.group(1) if match else answer
    body = body.replace(",", "").replace("\u2212", "-").replace(" ", "")
    num_text, slash, den_text = body.partition("/")
    num = _literal(num_text)
    den = _literal(den_text) if slash else Decimal(1)
    if num is None or den is None or den.is_zero():
        return None
    if num.is_zero():
        return Fraction(0)
    # The quotient's magnitude decides the representation, so that one value always gets one.
    quotient = _WIDE.divide(num, den)
    if quotient.is_infinite():  # past decimal's range: "9e999999999999999999/1e-5"
        return None
    if abs(quotient.adjusted()) > _EXACT_EXPONENT and not quotient.is_zero():
        return quotient
    if max(abs(num.adjusted()), abs(den.adjusted())) <= 2 * _EXACT_EXPONENT:
        return Fraction(num) / Fraction(den)
    # Absurd parts ("1e999999999/1e999999998") of an ordinary value: their quotient, rounded.
    return Fraction(quotient)


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
    """Voting key of a number: its value rounded to 4 decimals, without trailing zeros.

    Values beyond 10**1000 are keyed by their normalized scientific form (``"1E+4301"``), those
    below 10**-1000 in magnitude by ``"0"``; no digit string longer than about 1000 is built.
    """
    value = parse_number(answer)
    if value is None:
        return None
    if isinstance(value, Decimal):
        if value.adjusted() < 0:
            return "0"  # nonzero but far below the 4 decimals kept
        exact = Context(prec=len(value.as_tuple().digits), Emax=MAX_EMAX, Emin=MIN_EMIN)
        return str(value.normalize(exact))
    if value.denominator == 1:
        return str(value.numerator)
    # Rounded exactly (no float: values up to 10**1000 would overflow one).
    scaled = round(value * 10**_KEY_DECIMALS)
    whole, part = divmod(abs(scaled), 10**_KEY_DECIMALS)
    digits = f"{part:0{_KEY_DECIMALS}d}".rstrip("0")
    text = f"{whole}.{digits}" if digits else str(whole)
    return "-" + text if scaled < 0 else text


def _close_exact(x: Fraction, y: Fraction) -> bool:
    return abs(x - y) <= max(_REL_TOL * max(abs(x), abs(y)), Fraction(ABS_TOL))


def _as_decimal(value: Fraction | Decimal) -> Decimal:
    if isinstance(value, Decimal):
        return value
    return _WIDE.divide(Decimal(value.numerator), Decimal(value.denominator))


def _close_decimal(x: Decimal, y: Decimal) -> bool:
    # Every operation through _WIDE (abs() and the operators would use the thread's context,
    # whose exponent range is far narrower); copy_abs is exact. 60 significant digits of
    # difference are far finer than the 1e-9 relative tolerance.
    diff = _WIDE.subtract(x, y).copy_abs()
    larger = max(x.copy_abs(), y.copy_abs())
    return diff <= max(_WIDE.multiply(_DEC_REL_TOL, larger), _DEC_ABS_TOL)


def numbers_equal(a: str, b: str) -> bool:
    """Whether two answers are numbers within :data:`ABS_TOL` (relative 1e-9 for large ones)."""
    x, y = parse_number(a), parse_number(b)
    if x is None or y is None:
        return False
    if isinstance(x, Fraction) and isinstance(y, Fraction):
        if x == y:
            return True
        try:
            return math.isclose(float(x), float(y), rel_tol=1e-9, abs_tol=ABS_TOL)
        except OverflowError:  # beyond float's range (up to 10**1000): the same test, exactly
            return _close_exact(x, y)
    if isinstance(x, Decimal) and isinstance(y, Decimal) and x == y:
        return True
    return _close_decimal(_as_decimal(x), _as_decimal(y))
