"""The online run loop of ``uniscale run``: answer, grade, feed back, log, summarize.

For each question the pipeline routes and answers; when the question has a gold answer the answer
is graded and the outcome (correct, verifier score, cost) goes back to the router before the next
question, so the router learns online. Every decision is one JSON line in the decision log.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from uniscale.errors import EngineError
from uniscale.runner.pipeline import Answered, Pipeline, PromptTooLongError
from uniscale.runner.questions import Question

__all__ = ["ArmStats", "RunStats", "run_questions"]

logger = logging.getLogger(__name__)


@dataclass
class ArmStats:
    """Running totals of one arm over a run."""

    chosen: int = 0
    graded: int = 0
    correct: int = 0
    reward_sum: float = 0.0
    rewarded: int = 0
    tokens: int = 0
    eflops: float = 0.0
    dollars: float = 0.0
    wall_s: float = 0.0

    @property
    def accuracy(self) -> float:
        return self.correct / self.graded if self.graded else math.nan

    @property
    def mean_reward(self) -> float:
        return self.reward_sum / self.rewarded if self.rewarded else math.nan


@dataclass
class RunStats:
    """Totals of a run, overall and per arm (arm label -> :class:`ArmStats`)."""

    arms: dict[str, ArmStats] = field(default_factory=dict)
    answered: int = 0
    errors: int = 0
    total: int = 0
    interrupted: bool = False

    @property
    def overall(self) -> ArmStats:
        out = ArmStats()
        for s in self.arms.values():
            for name in ArmStats.__dataclass_fields__:
                setattr(out, name, getattr(out, name) + getattr(s, name))
        return out

    def add(self, label: str, answered: Answered, correct: bool | None, reward: float | None):
        s = self.arms.setdefault(label, ArmStats())
        cost = answered.result.cost
        s.chosen += 1
        if correct is not None:
            s.graded += 1
            s.correct += int(correct)
        if reward is not None:
            s.reward_sum += reward
            s.rewarded += 1
        s.tokens += int(cost.total_tokens)
        s.eflops += float(cost.eflops or 0.0)
        s.dollars += float(cost.dollars or 0.0)
        s.wall_s += float(answered.latency_s)
        self.answered += 1


async def run_questions(
    pipeline: Pipeline,
    questions: Sequence[Question],
    *,
    stats: RunStats | None = None,
    log: IO[str] | None = None,
    max_tokens: int | None = None,
    seed: int | None = 0,
    on_answer: Callable[[int, Question, dict[str, Any], RunStats], None] | None = None,
) -> RunStats:
    """Answer ``questions`` in order with online feedback.

    Parameters
    ----------
    pipeline : Pipeline
    questions : sequence of Question
    stats : RunStats, optional
        Filled in place (so that a caller keeps the totals when the run is interrupted).
    log : text file, optional
        Receives one JSON object per question (the decision log), flushed after each line.
    max_tokens : int, optional
        Generation budget; the pipeline's default when None.
    seed : int, optional
        Base sampling seed; question ``i`` uses ``seed + i``.
    on_answer : callable, optional
        Called after each question with ``(index, question, log record, stats)``.

    Returns
    -------
    RunStats
    """
    from uniscale.answers import grade

    stats = stats if stats is not None else RunStats()
    stats.total = len(questions)
    for i, q in enumerate(questions):
        record: dict[str, Any] = {"index": i, "question_id": q.id, "gold": q.gold}
        t0 = time.perf_counter()
        try:
            answered = await pipeline.answer(
                q.text,
                answer_kind=q.kind,
                max_tokens=max_tokens,
                seed=None if seed is None else seed + i,
            )
        except (EngineError, PromptTooLongError) as exc:
            # One question's failure (an engine down, a question longer than the context)
            # skips that question only.
            stats.errors += 1
            record.update(error=str(exc), wall_s=time.perf_counter() - t0)
            logger.error("question %s: %s", q.id, exc)
            _write(log, record)
            if on_answer is not None:
                on_answer(i, q, record, stats)
            continue
        correct = None if q.gold is None else bool(grade(answered.result.answer, q.gold, q.kind))
        _label, reward = pipeline.feedback(answered.decision_id, correct=correct)
        stats.add(answered.arm_label, answered, correct, reward)
        summary = answered.summary()
        record.update(
            decision_id=summary["decision_id"],
            arm=summary["arm"],
            arm_index=summary["arm_index"],
            propensity=summary["propensity"],
            answer=answered.result.answer,
            correct=correct,
            verifier=answered.verifier,
            reward=reward,
            cost=summary["cost"],
            fallback_from=summary["fallback_from"],
            wall_s=answered.latency_s,
        )
        _write(log, record)
        if on_answer is not None:
            on_answer(i, q, record, stats)
    return stats


def _write(log: IO[str] | None, record: dict[str, Any]) -> None:
    if log is None:
        return
    log.write(json.dumps(record, default=_json_default) + "\n")
    log.flush()


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"decision log: cannot encode {type(value).__name__}")
