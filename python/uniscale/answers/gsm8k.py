"""The gold answer of a GSM8K reference solution."""

from __future__ import annotations

import re

from uniscale.answers.numeric import number_text

__all__ = ["gold_from_gsm8k"]

_FINAL = re.compile(r"####\s*([^\n]+?)\s*$", re.M)


def gold_from_gsm8k(solution_text: str) -> str:
    """Return the final answer of a GSM8K solution, the text after its ``####`` marker.

    Thousands separators are removed ("#### 1,000" gives "1000"), as the dataset's authors
    advise before parsing.

    Raises
    ------
    TypeError
        ``solution_text`` is not a string.
    ValueError
        It has no ``#### <answer>`` line.

    >>> gold_from_gsm8k("She sells 9 eggs.\\n#### 18")
    '18'
    """
    if not isinstance(solution_text, str):
        raise TypeError(
            f"gold_from_gsm8k: solution_text must be str, got {type(solution_text).__name__}"
        )
    found = _FINAL.findall(solution_text)
    if not found:
        shown = solution_text[-60:]
        raise ValueError(
            f"gold_from_gsm8k: solution_text has no '#### <answer>' line (ends with {shown!r})"
        )
    answer = found[-1]
    return number_text(answer) or answer
