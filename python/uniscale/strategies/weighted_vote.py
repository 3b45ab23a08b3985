"""Weighted vote: n samples, each answer's vote weighted by its verifier score."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from uniscale.cost import CostCounts, ModelSpec
from uniscale.strategies._sampling import (
    answers_of,
    default_verifier,
    first_with_id,
    sample_solutions,
    score_solutions,
    vote_ids,
)
from uniscale.strategies.base import Strategy, Tracker, check_float, check_int
from uniscale.strategies.result import StrategyResult
from uniscale.strategies.verifiers.base import REDUCE_MODES

logger = logging.getLogger(__name__)

__all__ = ["WeightedVote"]


@dataclass(frozen=True)
class WeightedVote(Strategy):
    """n sampled solutions; the answer with the largest total verifier score wins
    (``aggregate.weighted_vote``; ties to the answer that appears first).

    Parameters
    ----------
    n : int
    temperature, top_p : float
    reduce : {"last", "min", "mean", "prod", "sum_log"}
        How a solution's step scores become its weight; weights must be >= 0 (``sum_log`` is
        not allowed here).
    """

    n: int = 8
    temperature: float = 0.7
    top_p: float = 1.0
    reduce: str = "last"

    name: ClassVar[str] = "weighted_vote"
    uses_verifier: ClassVar[bool] = True

    def __post_init__(self) -> None:
        check_int("WeightedVote", "n", self.n)
        check_float("WeightedVote", "temperature", self.temperature, lo=0.0)
        check_float("WeightedVote", "top_p", self.top_p, lo=0.0, hi=1.0)
        modes = tuple(m for m in REDUCE_MODES if m != "sum_log")
        if self.reduce not in modes:
            raise ValueError(f"WeightedVote: reduce must be one of {modes}, got {self.reduce!r}")

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
        counts.record_generation(model, [prompt_tokens], [[completion_tokens] * self.n])
        if verifier_model is not None:
            counts.record_verification(verifier_model, self.n * (prompt_tokens + completion_tokens))
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
        from uniscale.aggregate import weighted_vote

        self._check_run(question, max_tokens, seed)
        verifier = default_verifier(verifier, engine)
        tracker = Tracker(engine)
        outs = await sample_solutions(
            tracker,
            question,
            n=self.n,
            answer_kind=answer_kind,
            max_tokens=max_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            seed=seed,
            logprobs=verifier.uses_logprobs,
        )
        texts = [c.text for c in outs]
        answers = answers_of(texts, answer_kind)
        scores = await score_solutions(
            "WeightedVote.run", verifier, tracker, question, outs, reduce=self.reduce
        )
        ids = vote_ids(answers, answer_kind)
        vote = weighted_vote(ids[None, :], scores[None, :])
        chosen = first_with_id(ids, int(vote.winner[0]))
        return StrategyResult(
            answer=answers[chosen] if chosen is not None else None,
            candidates=texts,
            candidate_answers=answers,
            verifier_scores=scores,
            chosen=chosen,
            agreement=float(vote.share[0]),
            cost=tracker.cost(verifier, specs),
            strategy=self.name,
        )
