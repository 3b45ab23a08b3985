"""One entry point per operation, dispatching on the answer kind.

Kinds: ``"math"`` (math-verify), ``"number"``, ``"date"`` (MM/DD/YYYY), ``"choice"`` (a letter
A-J), or a callable ``text -> str | None`` supplied by the user, whose answers are compared as
whitespace-normalized strings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from uniscale.answers._validate import check_text
from uniscale.answers.choices import choice_key, choices_equal, extract_choice
from uniscale.answers.dates import date_key, dates_equal, extract_date
from uniscale.answers.mathexpr import extract_math, math_equal, math_key
from uniscale.answers.numeric import extract_number, number_key, numbers_equal

__all__ = ["KINDS", "AnswerKind", "canonical_key", "equivalent", "extract_answer", "grade"]

logger = logging.getLogger(__name__)

#: A kind name, or a user extractor ``text -> answer | None``.
AnswerKind = str | Callable[[str], str | None]


@dataclass(frozen=True)
class _Kind:
    extract: Callable[[str], str | None]
    key: Callable[[str], str | None]
    same: Callable[[str, str], bool]


KINDS: dict[str, _Kind] = {
    "math": _Kind(extract_math, math_key, math_equal),
    "number": _Kind(extract_number, number_key, numbers_equal),
    "date": _Kind(extract_date, date_key, dates_equal),
    "choice": _Kind(extract_choice, choice_key, choices_equal),
}


def _text_key(answer: str) -> str | None:
    key = " ".join(answer.split())
    return key or None


def _text_equal(a: str, b: str) -> bool:
    key = _text_key(a)
    return key is not None and key == _text_key(b)


def _resolve(operation: str, kind: AnswerKind) -> _Kind:
    if callable(kind):
        return _Kind(kind, _text_key, _text_equal)
    if isinstance(kind, str) and kind in KINDS:
        return KINDS[kind]
    raise ValueError(
        f"{operation}: kind must be one of {sorted(KINDS)} or a callable, got {kind!r}"
    )


def extract_answer(text: str, kind: AnswerKind = "math") -> str | None:
    """Return the final answer stated in a model's reply, or None when there is none.

    Parameters
    ----------
    text : str
        The reply.
    kind : {"math", "number", "date", "choice"} or callable
        How to find the answer; a callable receives ``text`` and returns the answer or None.

    Raises
    ------
    TypeError
        ``text`` is not a string, or a user extractor returned something other than str/None.
    ValueError
        ``kind`` is unknown.
    """
    resolved = _resolve("extract_answer", kind)
    check_text("extract_answer", "text", text, optional=False)
    answer = resolved.extract(text)
    if answer is not None and not isinstance(answer, str):
        raise TypeError(
            f"extract_answer: the extractor {kind!r} must return str or None, "
            f"got {type(answer).__name__}"
        )
    return answer


def canonical_key(answer: str | None, kind: AnswerKind = "math") -> str | None:
    """A string that is equal for answers that should be counted as one vote.

    None for a missing answer or one that is not of the kind (a date kind given "no idea").
    Keys are a fast, slightly stricter approximation of :func:`equivalent`: equal keys are
    always equivalent; for math, a few equivalent spellings (an equation against its value)
    get different keys.
    """
    resolved = _resolve("canonical_key", kind)
    check_text("canonical_key", "answer", answer, optional=True)
    if answer is None or not answer.strip():
        return None
    return resolved.key(answer)


def equivalent(a: str | None, b: str | None, kind: AnswerKind = "math") -> bool:
    """Whether two extracted answers are the same answer; False when either is None.

    Usable as the ``equivalent`` callable of :func:`uniscale.aggregate.canonical_ids` (through
    ``functools.partial(equivalent, kind=...)``).
    """
    resolved = _resolve("equivalent", kind)
    check_text("equivalent", "a", a, optional=True)
    check_text("equivalent", "b", b, optional=True)
    if a is None or b is None or not a.strip() or not b.strip():
        return False
    key_a = resolved.key(a)
    if key_a is not None and key_a == resolved.key(b):
        return True
    return resolved.same(a, b)


def grade(predicted: str | None, gold: str, kind: AnswerKind = "math") -> bool:
    """Whether an extracted answer matches the gold answer (math through math-verify).

    Parameters
    ----------
    predicted : str or None
        The answer from :func:`extract_answer` (not a whole reply); None grades as wrong.
    gold : str
        The reference answer (e.g. :func:`gold_from_gsm8k` of a GSM8K solution, or MATH's
        ``answer`` field).
    kind : {"math", "number", "date", "choice"} or callable
        How to compare; a callable kind compares whitespace-normalized strings.

    Notes
    -----
    Math answers holding a power or factorial past 10**4 (``9^{9^{9}}``, ``1000000!``) are
    ungradable: sympy could spend minutes on them, so they are never compared by math-verify and
    match only the same spelling. Numbers of any exponent (``"1e999999999"``) compare exactly
    and fast.
    """
    resolved = _resolve("grade", kind)
    check_text("grade", "predicted", predicted, optional=True)
    check_text("grade", "gold", gold, optional=False)
    if not gold.strip():
        raise ValueError("grade: gold must be a non-empty answer, got an empty string")
    if predicted is None or not predicted.strip():
        return False
    key_gold = resolved.key(gold)
    if key_gold is not None and key_gold == resolved.key(predicted):
        return True
    return resolved.same(gold, predicted)
