"""Final answers of model replies: extract them, grade them, and give them voting keys.

>>> from uniscale.answers import extract_answer, grade
>>> grade(extract_answer("... so she makes $18.\\n#### 18"), "18")
True

Kinds are ``"math"`` (math-verify: boxed answers, ``####`` lines, fractions, LaTeX),
``"number"``, ``"date"`` (MM/DD/YYYY), ``"choice"`` (a letter) or a user extractor.
:func:`canonical_key` gives strings for the voting ids of :mod:`uniscale.aggregate`.
"""

from __future__ import annotations

from uniscale.answers.api import KINDS, AnswerKind, canonical_key, equivalent, extract_answer, grade
from uniscale.answers.dates import normalize_date
from uniscale.answers.gsm8k import gold_from_gsm8k
from uniscale.answers.mathexpr import last_boxed

__all__ = [
    "KINDS",
    "AnswerKind",
    "canonical_key",
    "equivalent",
    "extract_answer",
    "gold_from_gsm8k",
    "grade",
    "last_boxed",
    "normalize_date",
]
