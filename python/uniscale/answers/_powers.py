"""A guard against answers whose powers are too large for sympy to compare in reasonable time.

math-verify hands parsed answers to sympy, which evaluates ``9^{9^{9}}`` (a number of 370 million
digits) or expands ``(x+1)^{100000}`` while comparing. On the main thread math-verify gives up
after its timeout (seconds per comparison, both directions); off the main thread it has no
timeout at all and would never return. Such answers are therefore refused before any comparison:
an answer holding a power whose exponent is a number beyond :data:`MAX_EXPONENT` in magnitude, or
a factorial of a number beyond it (``1000000!`` also takes the whole timeout), is ungradable, and
:mod:`uniscale.answers.mathexpr` compares it as its own text only.

TODO(uniscale): only powers and factorials are bounded; other functions sympy evaluates exactly
(huge binomials of huge arguments, nested gammas) could still run for math-verify's timeout.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from typing import Any

__all__ = ["MAX_EXPONENT", "has_huge_power"]

logger = logging.getLogger(__name__)

#: Largest exponent (and factorial argument) magnitude handed to sympy. ``10^{5000}``,
#: ``2^{1024}`` and ``(x+1)^{1000}`` compare in well under a second; ``(x+1)^{100000}``,
#: ``9^{9999999}`` or ``1000000!`` take math-verify's whole timeout.
MAX_EXPONENT = 10_000


def _too_large(exponent: Any) -> bool:
    if exponent.is_Number:
        try:
            return not abs(float(exponent)) <= MAX_EXPONENT  # nan and inf count as too large
        except (OverflowError, TypeError, ValueError):
            return True
    if not exponent.is_number:
        return False  # symbolic (x^{n}, e^{-x^2}): no size to judge
    # A numeric expression (9^{9}, 2 \cdot 10^{6}). Its own powers were checked before it (the
    # walk is post-order), so evaluating it to a few digits is cheap.
    try:
        value = complex(exponent.evalf(15))
    except (OverflowError, TypeError, ValueError, ArithmeticError):
        return True
    return not (math.isfinite(abs(value)) and abs(value) <= MAX_EXPONENT)


def has_huge_power(parsed: Iterable[Any]) -> bool:
    """Whether any sympy object in ``parsed`` holds a power (or factorial) past the limit.

    Parameters
    ----------
    parsed : iterable
        math-verify's parse result (sympy expressions, matrices, strings; strings are skipped).
    """
    import sympy  # heavy; math-verify imports it anyway

    for item in parsed:
        if isinstance(item, sympy.MatrixBase):
            nodes: Iterable[Any] = (n for e in item for n in sympy.postorder_traversal(e))
        elif isinstance(item, sympy.Basic):
            nodes = sympy.postorder_traversal(item)
        else:
            continue
        for node in nodes:
            if isinstance(node, sympy.Pow):
                operand = node.exp
            elif isinstance(node, (sympy.factorial, sympy.factorial2, sympy.subfactorial)):
                operand = node.args[0]
            else:
                continue
            if _too_large(operand):
                logger.debug(
                    "%s: %s is past the limit %s", type(node).__name__, operand, MAX_EXPONENT
                )
                return True
    return False
