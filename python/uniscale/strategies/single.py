"""One sample, greedy or sampled."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from uniscale.cost import CostCounts, ModelSpec
from uniscale.strategies._sampling import answers_of, sample_solutions
from uniscale.strategies.base import Strategy, Tracker, check_float
from uniscale.strategies.result import StrategyResult

logger = logging.getLogger(__name__)

__all__ = ["Single"]


@dataclass(frozen=True)
class Single(Strategy):
    """One solution; its answer is the answer.

    Parameters
    ----------
    greedy : bool
        Decode greedily (temperature 0) instead of sampling.
    temperature, top_p : float
        Sampling settings when not greedy.
    """

    greedy: bool = False
    temperature: float = 0.7
    top_p: float = 1.0

    name: ClassVar[str] = "single"

    def __post_init__(self) -> None:
        if not isinstance(self.greedy, bool):
            raise TypeError(f"Single: greedy must be a bool, got {self.greedy!r}")
        check_float("Single", "temperature", self.temperature, lo=0.0)
        check_float("Single", "top_p", self.top_p, lo=0.0, hi=1.0)

    def expected_counts(
        self,
        model: str,
        *,
        prompt_tokens: int,
        completion_tokens: int,
        verifier_model: str | None = None,
    ) -> CostCounts:
        self._check_expected(prompt_tokens, completion_tokens)
        counts = CostCounts(search_steps=1)
        counts.record_generation(model, [prompt_tokens], [[completion_tokens]])
        return counts

    async def run(
        self,
        question: str,
        engine: Any,
        *,
        verifier: Any | None = None,
        answer_kind: Any = "math",
        max_tokens: int = 256,
        seed: int | None = None,
        specs: Mapping[str, ModelSpec] | None = None,
    ) -> StrategyResult:
        self._check_run(question, max_tokens, seed)
        tracker = Tracker(engine)
        outs = await sample_solutions(
            tracker,
            question,
            n=1,
            answer_kind=answer_kind,
            max_tokens=max_tokens,
            temperature=0.0 if self.greedy else self.temperature,
            top_p=self.top_p,
            seed=seed,
            logprobs=False,
        )
        texts = [c.text for c in outs]
        answers = answers_of(texts, answer_kind)
        return StrategyResult(
            answer=answers[0],
            candidates=texts,
            candidate_answers=answers,
            verifier_scores=None,
            chosen=0 if answers[0] is not None else None,
            agreement=None,
            cost=tracker.cost(None, specs),
            strategy=self.name,
        )
