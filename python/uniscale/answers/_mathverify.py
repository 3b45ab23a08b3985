"""Thread-aware calls into math-verify.

math-verify bounds the time of each parse and comparison with ``signal.alarm``, which Python only
allows on the main thread; called from a worker thread (an executor, a server's request thread)
it raises ``ValueError``. Off the main thread we therefore switch its timeouts off
(``parsing_timeout=None, timeout_seconds=None``). That trades the bound for working at all; the
inputs here are single extracted answers, short enough that sympy finishes quickly, and answers
with huge powers are refused before they get here (:mod:`uniscale.answers._powers`).

math-verify reports timeouts and its "timeout is disabled" notice as WARNING records of its
loggers, which with no logging configured land on stderr. For our calls those records are
dropped by a filter that only acts while one of our calls runs on the same thread, and logged
at DEBUG here instead; math-verify used directly by other code logs as before.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["on_main_thread", "parse_math", "parse_math_text", "verify_math"]

logger = logging.getLogger(__name__)

#: Seconds math-verify may spend on one parse or comparison when we are on the main thread.
MAIN_THREAD_TIMEOUT_S = 5


_LIBRARY_LOGGERS = ("math_verify.parser", "math_verify.grader", "math_verify.utils")
_inside = threading.local()


class _OurCallsOnly(logging.Filter):
    """Drops math-verify's records emitted on a thread that is inside one of our calls."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(_inside, "depth", 0) == 0:
            return True
        logger.debug("math-verify %s: %s", record.levelname, record.getMessage())
        return False


_FILTER = _OurCallsOnly()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    for name in _LIBRARY_LOGGERS:
        logging.getLogger(name).addFilter(_FILTER)  # no-op once installed
    _inside.depth = getattr(_inside, "depth", 0) + 1
    try:
        yield
    finally:
        _inside.depth -= 1


def on_main_thread() -> bool:
    """Whether signal-based timeouts can be armed from the calling thread."""
    return threading.current_thread() is threading.main_thread()


def parse_math(latex: str) -> list[Any]:
    """Parse one answer with math-verify, reading it as the content of ``\\boxed{...}``.

    Parameters
    ----------
    latex : str
        An extracted answer: a number, a fraction, a LaTeX expression, a tuple, ...

    Returns
    -------
    list
        math-verify's parse result: ``[sympy_object, matched_string]`` on success, ``[]`` when
        nothing could be read.
    """
    import math_verify  # heavy (sympy, antlr); imported where used

    timeout = MAIN_THREAD_TIMEOUT_S if on_main_thread() else None
    # Wrapping in \boxed{} makes math-verify read the whole string as one answer instead of
    # searching it for a number, so "(3, \pi/2)" stays a tuple and "1,000" stays one number.
    with _quiet():
        return math_verify.parse("\\boxed{" + latex + "}", parsing_timeout=timeout)


def parse_math_text(text: str) -> list[Any]:
    """Parse free text with math-verify's own search for the answer (same timeouts rule)."""
    import math_verify

    timeout = MAIN_THREAD_TIMEOUT_S if on_main_thread() else None
    with _quiet():
        return math_verify.parse(text, parsing_timeout=timeout)


def verify_math(gold: list[Any], predicted: list[Any]) -> bool:
    """math-verify's comparison of two parse results; ``False`` when either is empty."""
    import math_verify

    if not gold or not predicted:
        return False
    timeout = MAIN_THREAD_TIMEOUT_S if on_main_thread() else None
    with _quiet():
        return bool(math_verify.verify(gold, predicted, timeout_seconds=timeout))
