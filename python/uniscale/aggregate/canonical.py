"""Map one request's extracted answers to small integer ids by equivalence class.

Equivalent answers get the same id, so that a vote counts them together. Ids are numbered
0, 1, 2, ... in the order in which each class first appears; a missing answer (None) gets -1.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

__all__ = ["canonical_ids", "numeric_key"]

logger = logging.getLogger(__name__)

# 1,234,567 or -1,234.5: commas only as thousands separators, so "1,2" is not read as a number
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
# an exponent: Fraction("1e999999999") would build a billion-digit integer
_EXPONENT = re.compile(r"[eE]\s*([+-]?\d+)")
_MAX_EXPONENT = 1000


def numeric_key(answer: str) -> Fraction | str:
    """The exact rational value of a numeric answer, or the stripped text when it is not numeric.

    Integers, decimals, exponents, fractions ``a/b``, a leading ``+`` and thousands separators are
    read exactly (``"0.5"``, ``".5"``, ``"1/2"`` and ``"5e-1"`` are one value), so equality is exact
    and transitive; NaN and infinities are not numbers here and compare as text, and so do
    exponents beyond ±1000 (reading them exactly would build enormous integers).
    """
    text = answer.strip()
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    exponent = _EXPONENT.search(text)
    if exponent is not None and abs(int(exponent.group(1)[:6])) > _MAX_EXPONENT:
        return text  # beyond any answer's magnitude; exact text comparison is safe and cheap
    try:
        return Fraction(text)
    except (ValueError, ZeroDivisionError):
        return text


def canonical_ids(
    answers: Sequence[str | None],
    equivalent: str | Callable[[str, str], bool] = "exact",
) -> np.ndarray:
    """Ids by equivalence class, in order of first appearance; None gives -1.

    Parameters
    ----------
    answers : sequence of str or None, length N
        One request's extracted answers.
    equivalent : {"exact", "numeric"} or callable
        ``"exact"``: identical strings. ``"numeric"``: equal exact values by
        :func:`numeric_key` (non-numeric answers fall back to identical stripped text).
        A callable ``equivalent(a, b) -> bool`` (for instance ``uniscale.answers.equivalent`` or
        a math-verify check): each answer joins the first earlier class whose first member it is
        equivalent to, called as ``equivalent(representative, answer)``; a relation that is not
        transitive is thus resolved by first appearance, with at most N × classes calls.

    Returns
    -------
    np.ndarray, int64, shape (N,)

    Raises
    ------
    TypeError
        ``answers`` is a string or holds something that is neither str nor None, or
        ``equivalent`` is neither a known name nor callable; a callable returning a non-bool.
    ValueError
        ``equivalent`` is an unknown name.
    """
    op = "canonical_ids"
    if isinstance(answers, (str, bytes)) or not isinstance(answers, Sequence):
        raise TypeError(
            f"{op}: answers must be a sequence of str or None; got {type(answers).__name__}"
        )
    for i, a in enumerate(answers):
        if a is not None and not isinstance(a, str):
            raise TypeError(f"{op}: answers[{i}] must be str or None; got {type(a).__name__}")
    ids = np.full(len(answers), -1, dtype=np.int64)
    if callable(equivalent):
        return _by_callable(answers, equivalent, ids)
    if not isinstance(equivalent, str):
        raise TypeError(
            f"{op}: equivalent must be 'exact', 'numeric' or a callable; "
            f"got {type(equivalent).__name__}"
        )
    if equivalent == "exact":
        key: Callable[[str], Any] = _identity
    elif equivalent == "numeric":
        key = numeric_key
    else:
        raise ValueError(
            f"{op}: equivalent must be 'exact', 'numeric' or a callable; got {equivalent!r}"
        )
    seen: dict[Any, int] = {}
    for i, a in enumerate(answers):
        if a is None:
            continue
        ids[i] = seen.setdefault(key(a), len(seen))
    return ids


def _identity(text: str) -> str:
    return text


def _by_callable(
    answers: Sequence[str | None], equivalent: Callable[[str, str], Any], ids: np.ndarray
) -> np.ndarray:
    representatives: list[str] = []
    for i, a in enumerate(answers):
        if a is None:
            continue
        for class_id, rep in enumerate(representatives):
            if rep == a:  # identical text is equivalent; spares a possibly slow call
                ids[i] = class_id
                break
            same = equivalent(rep, a)
            if not isinstance(same, (bool, np.bool_)):
                raise TypeError(
                    f"canonical_ids: equivalent({rep!r}, {a!r}) must return a bool; "
                    f"got {type(same).__name__}"
                )
            if same:
                ids[i] = class_id
                break
        else:
            ids[i] = len(representatives)
            representatives.append(a)
    return ids
