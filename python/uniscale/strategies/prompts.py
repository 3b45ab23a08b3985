"""Prompts the strategies send, and how they recognise that a solution has stated its answer."""

from __future__ import annotations

import logging
import re

from uniscale.answers import last_boxed

logger = logging.getLogger(__name__)

__all__ = ["MATH_INSTRUCTION", "GENERIC_INSTRUCTION", "build_messages", "states_final_answer"]

MATH_INSTRUCTION = (
    "Solve the following math problem step by step. Separate the steps with a blank line. "
    'End with the final answer written as \\boxed{{ANSWER}}, or as "The answer is ANSWER".\n\n'
    "Problem: {question}"
)
GENERIC_INSTRUCTION = (
    "Answer the following question. Think step by step and separate the steps with a blank "
    'line. End with "The answer is ANSWER".\n\nQuestion: {question}'
)

_STATED = re.compile(r"(?:answer\s*(?:is|:)|####)", re.I)


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
    falls back to the last number."""
    return last_boxed(text) is not None or _STATED.search(text) is not None
