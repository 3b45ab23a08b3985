"""The online run loop behind ``uniscale run``: questions in, routed answers and feedback out.

:class:`Pipeline` (router + engines + strategies, shared with ``uniscale serve``),
:func:`make_pipeline` (from command-line settings), :func:`run_questions` (the loop) and
:func:`load_questions` (question files).
"""

from __future__ import annotations

from uniscale.runner.loop import ArmStats, RunStats, run_questions
from uniscale.runner.pipeline import Answered, Pipeline, default_arms_path
from uniscale.runner.questions import ANSWER_KINDS, Question, load_questions, parse_question
from uniscale.runner.setup import make_pipeline

__all__ = [
    "ANSWER_KINDS",
    "Answered",
    "ArmStats",
    "Pipeline",
    "Question",
    "RunStats",
    "default_arms_path",
    "load_questions",
    "make_pipeline",
    "parse_question",
    "run_questions",
]
