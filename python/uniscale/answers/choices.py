"""Multiple-choice answers: a letter A-J, found in the ways models usually state it."""

from __future__ import annotations

import re

__all__ = ["choice_key", "choices_equal", "extract_choice"]

_LETTERS = "A-J"
# Most specific first: an explicit "answer is (B)" beats a "(C)" quoted earlier in the reasoning.
_STATED = (
    # Only the word is case-free: "the answer is a square" must not read as choice A.
    re.compile(r"(?i:answer)\s*(?:is|:)\s*:?\s*\**\s*\(?([" + _LETTERS + r"])\)?(?!\w)"),
    re.compile(r"\\boxed\{\s*\(?([" + _LETTERS + r"])\)?\s*\}"),
    re.compile(r"\(([" + _LETTERS + r"])\)"),
)
_ALONE = re.compile(r"^\W*([" + _LETTERS + r"])\W*$", re.I)


def extract_choice(text: str) -> str | None:
    """Return the chosen letter (upper case) stated in ``text``, or None.

    Tried in order: "answer is X" / "Answer: (X)" (the last such phrase), ``\\boxed{X}``, the
    last "(X)", and a reply that is nothing but one letter.

    >>> extract_choice("(A) is tempting, but the answer is (C).")
    'C'
    """
    for pattern in _STATED:
        matches = pattern.findall(text)
        if matches:
            return matches[-1]
    alone = _ALONE.match(text)
    return alone.group(1).upper() if alone else None


def choice_key(answer: str) -> str | None:
    """Voting key of a choice: the upper-case letter, None when ``answer`` is not one letter."""
    alone = _ALONE.match(answer)
    return alone.group(1).upper() if alone else None


def choices_equal(a: str, b: str) -> bool:
    """Whether both answers are the same letter."""
    key = choice_key(a)
    return key is not None and key == choice_key(b)
