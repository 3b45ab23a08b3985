"""Prompts the strategies send, and how they recognise that a solution has stated its answer."""

from __future__ import annotations

import logging
import re

from uniscale.answers import last_boxed

logger = logging.getLogger(__name__)

__all__ = [
    "GENERIC_INSTRUCTION",
    "MATH_INSTRUCTION",
    "build_messages",
    "is_placeholder",
    "states_final_answer",
]

# No placeholder word in the instructions: small models copy a boxed "ANSWER" back verbatim.
MATH_INSTRUCTION = (
    "Solve the following math problem step by step. Separate the steps with a blank line. "
    "Put the final answer within \\boxed{{}}.\n\n"
    "Problem: {question}"
)
GENERIC_INSTRUCTION = (
    "Answer the following question. Think step by step and separate the steps with a blank "
    'line. End with a sentence that starts with "The answer is".\n\nQuestion: {question}'
)

_STATED = re.compile(r"(?:answer\s*(?:is|:)|####)[ \t]*(.*)", re.I)
# What a model that copies the instruction writes where the answer belongs.
_PLACEHOLDERS = frozenset({"", "answer", "<answer>", "number", "<number>", "n", "x", "..."})


def is_placeholder(answer: str | None) -> bool:
    """Whether ``answer`` is empty or the instruction's placeholder ("ANSWER") copied back."""
    if answer is None:
        return True
    return answer.strip().strip("\"'$.,;:{}[]()").strip().lower() in _PLACEHOLDERS


def build_messages(
    question: str, answer_kind: object = "math", partial: str | None = None
) -> list[dict[str, str]]:
    """Chat messages asking for a step-by-step solution of ``question``.

    Parameters
    ----------
    question : str
    answer_kind : str or callable
        ``"math"`` and ``"number"`` get the math instruction, other kinds the generic one.
    partial : str or None
        When given, an assistant turn holding the solution so far, for the engine to continue
        (``continue_final=True``).
    """
    if not isinstance(question, str) or not question.strip():
        raise ValueError(f"build_messages: question must be a non-empty str, got {question!r}")
    template = MATH_INSTRUCTION if answer_kind in ("math", "number") else GENERIC_INSTRUCTION
    messages = [{"role": "user", "content": template.format(question=question.strip())}]
    if partial is not None:
        messages.append({"role": "assistant", "content": partial})
    return messages


def states_final_answer(text: str) -> bool:
    """Whether ``text`` (a step or a solution) states a final answer: a ``\\boxed{}``, an
    "answer is"/"answer:" statement or a ``####`` line. Stricter than answer extraction, which
    falls back to the last number. A copied placeholder ("The answer is ANSWER", an empty
    ``\\boxed{}``) does not count."""
    boxed = last_boxed(text)
    if boxed is not None and not is_placeholder(boxed):
        return True
    return any(not is_placeholder(m.group(1)) for m in _STATED.finditer(text))
