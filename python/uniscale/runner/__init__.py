"""The online run loop behind ``uniscale run``: questions in, routed answers and feedback out."""

from __future__ import annotations

from uniscale.runner.questions import ANSWER_KINDS, Question, load_questions, parse_question

__all__ = ["ANSWER_KINDS", "Question", "load_questions", "parse_question"]
