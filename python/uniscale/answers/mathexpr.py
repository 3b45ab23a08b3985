"""Mathematical answers: where a solution states its final answer, and when two answers agree.

Extraction looks, in order, for the last ``\\boxed{...}`` (MATH style), the last ``#### ...``
line (GSM8K style), an "answer is ..." / "Answer: ..." / "A: ..." statement, and finally the
last number in the text. Comparison is math-verify's (sympy-based: fractions, decimals, LaTeX,
tuples, sets, intervals, equations).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

from uniscale.answers import _mathverify
from uniscale.answers._powers import has_huge_power
from uniscale.answers._validate import check_text
from uniscale.answers.numeric import extract_number, number_text

__all__ = ["extract_math", "last_boxed", "math_equal", "math_key"]

logger = logging.getLogger(__name__)

_BOX_OPENERS = ("\\boxed", "\\fbox")
_HASHES = re.compile(r"####\s*([^\n]*)")
_STATEMENT = re.compile(
    r"(?:(?i:final answer|the answer|answer)\s*(?:is|:|=)|^A:)\s*:?\s*([^\n]+)", re.M
)
_INLINE_MATH = re.compile(r"\$\$?(.+?)\$\$?|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.S)
_TRAILING = " \t.;,!"
# Where the content of an unclosed box surely ends: the end of its math, or of its line.
_SCIENTIFIC = re.compile(r"([-+]?(?:\d+\.?\d*|\.\d+))[eE]([-+]?\d+)")
_MATH_END = re.compile(r"(?<!\\)\$|\\\]|\\\)|\n")


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` / ``\\fbox{...}`` (braces balanced), or None.

    Raises
    ------
    TypeError
        ``text`` is not a string.

    Examples
    --------
    >>> last_boxed(r"so $x = \\boxed{\\frac{1}{2}}$.")
    '\\\\frac{1}{2}'
    """
    check_text("last_boxed", "text", text)
    for brace in _box_braces(text):
        end = _closing_brace(text, brace)
        if end >= 0:
            return text[brace + 1 : end].strip()
    return None


def _box_braces(text: str) -> Iterator[int]:
    """Positions of the "{" of each ``\\boxed{`` / ``\\fbox{``, last first ("\\boxed 5" skipped)."""
    start = max(text.rfind(opener) for opener in _BOX_OPENERS)
    while start >= 0:
        brace = text.find("{", start)
        if brace >= 0 and text[start:brace].rstrip() in _BOX_OPENERS:
            yield brace
        start = max(text.rfind(opener, 0, start) for opener in _BOX_OPENERS)


def _closing_brace(text: str, brace: int) -> int:
    """Index of the "}" that closes the "{" at ``brace``; -1 when it is never closed."""
    depth = 0
    for index in range(brace, len(text)):
        char = text[index]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index
    return -1


def _final_box(text: str) -> tuple[bool, str | None]:
    """(whether a box was opened, the answer it holds) for the last box opened in ``text``.

    A closed box gives its content. A box whose closing brace is missing ("\\boxed{\\frac{1}{2}$.")
    gives, best effort, its content up to the end of the math or of the line when that content's
    own braces balance; a box cut inside its content ("\\boxed{\\frac{1}{") holds no readable
    answer, and the last closed box before it, if any, is taken instead.
    """
    braces = _box_braces(text)
    brace = next(braces, -1)
    if brace < 0:
        return False, None
    end = _closing_brace(text, brace)
    if end >= 0:
        return True, text[brace + 1 : end].strip()
    rest = text[brace + 1 :]
    cut = _MATH_END.search(rest)
    rest = (rest[: cut.start()] if cut else rest).strip().rstrip(_TRAILING)
    if rest and _closing_brace("{" + rest + "}", 0) == len(rest) + 1:
        return True, rest
    return True, last_boxed(text[:brace])


def _clean_statement(span: str) -> str | None:
    """Reduce "the answer is $\\frac{1}{2}$ cups." to the answer itself."""
    inline = _INLINE_MATH.search(span)
    if inline:
        return next(group for group in inline.groups() if group is not None).strip(_TRAILING)
    span = span.strip().rstrip(_TRAILING)
    if not span:
        return None
    parsed = _mathverify.parse_math_text(span)
    if len(parsed) >= 2 and isinstance(parsed[1], str) and parsed[1].strip():
        return parsed[1].strip()
    return span


def extract_math(text: str) -> str | None:
    """Return the final answer stated in a solution, as written (LaTeX kept), or None.

    Parameters
    ----------
    text : str
        A full solution or reply.

    Returns
    -------
    str or None
        The content of the last box, of the last ``####`` line (thousands separators and
        currency signs removed), of the last answer statement, or the last number
        (scientific notation included: ``"1e999999"``). A last box left unclosed is read best
        effort: ``"\\boxed{\\frac{1}{2}"`` gives ``"\\frac{1}{2}"``; one cut inside its
        content (``"\\boxed{\\frac{1}{"``, a truncated reply) gives the closed box before it,
        or None, never a number picked out of the unfinished box.
    """
    opened, boxed = _final_box(text)
    if boxed:
        return boxed
    if opened and boxed is None:
        return None
    hashes = _HASHES.findall(text)
    if hashes and hashes[-1].strip():
        answer = hashes[-1].strip().rstrip(_TRAILING)
        # "#### $1,000" -> "1000"; otherwise the expression math-verify finds in the line.
        return number_text(answer) or _clean_statement(answer) or answer
    statements = _STATEMENT.findall(text)
    if statements:
        answer = _clean_statement(statements[-1])
        if answer:
            return answer
    return extract_number(text)


@functools.lru_cache(maxsize=4096)
def _parsed(answer: str, main_thread: bool) -> tuple[tuple[Any, ...], bool]:
    # main_thread is part of the key: the parse made with timeouts and the one without are
    # equal in value, but keeping them apart keeps the cache free of thread assumptions.
    del main_thread
    scientific = _SCIENTIFIC.fullmatch(answer.strip())
    if scientific:
        # math-verify reads "1.5e3" as 1.5·e·3 (Euler's number); written as a power of ten it is
        # the number the answer means (and towers of ten meet the size guard like any power).
        answer = f"{scientific.group(1)}\\times 10^{{{scientific.group(2)}}}"
    parsed = _mathverify.parse_math(answer)
    return tuple(parsed), has_huge_power(parsed)


def _parse(answer: str) -> list[Any] | None:
    """math-verify's parse of ``answer``; None when the answer is ungradable (a huge power)."""
    parsed, huge = _parsed(answer, _mathverify.on_main_thread())
    return None if huge else list(parsed)


def _text_key(answer: str) -> str:
    return "".join(answer.split())


def math_key(answer: str) -> str:
    """Voting key of a math answer: math-verify's sympy form printed, exact for rationals.

    Answers that math-verify cannot read, and ungradable ones (a power with an exponent beyond
    ±10000, such as ``9^{9^{9}}``), keep their own text with whitespace removed, so they still
    vote with identical spellings.
    """
    parsed = _parse(answer)
    if parsed and not isinstance(parsed[0], str):
        value = parsed[0]
        if getattr(value, "is_Rational", False):
            try:
                return str(value)  # sympy prints Rational(1, 2) as "1/2" and Integer(3) as "3"
            except ValueError:  # an integer past Python's 4300-digit printing limit
                return _text_key(answer)
        if getattr(value, "is_Float", False):
            # Decimals math-verify kept as floats: round them the way it compares them (6
            # decimals) and print them as the exact fraction, so "1.5" and "3/2" vote together.
            try:
                exact = Fraction(f"{float(value):.6f}")
            except (ValueError, OverflowError):  # inf, nan
                return str(value)
            return str(exact.numerator) if exact.denominator == 1 else str(exact)
        return str(value)
    return _text_key(answer)


def math_equal(a: str, b: str) -> bool:
    """Whether math-verify considers the two answers equal (checked in both directions).

    math-verify's comparison is not symmetric (equations and assignments are read against the
    first argument), so either reading counts. Answers it cannot read, and ungradable ones (see
    :func:`math_key`; they never reach math-verify's comparison, which could run for its whole
    timeout, or forever off the main thread), equal only the same text.
    """
    left, right = _parse(a), _parse(b)
    if not left or not right:
        return _text_key(a) == _text_key(b) and bool(a.strip())
    return _mathverify.verify_math(left, right) or _mathverify.verify_math(right, left)
