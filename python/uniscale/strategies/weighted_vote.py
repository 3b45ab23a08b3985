"""Weighted vote: n samples, each answer's vote weighted by its verifier score."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from uniscale.cost import ModelSpec
from uniscale.strategies._sampling import NSampleStrategy, first_with_id, vote_ids
from uniscale.strategies.base import check_float, check_int
from uniscale.strategies.result import StrategyResult
from uniscale.strategies.verifiers.base import REDUCE_MODES

logger = logging.getLogger(__name__)

__all__ = ["WeightedVote"]


@dataclass(frozen=True)
class WeightedVote(NSampleStrategy):
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

        s = await self.sample_and_score(
            question,
            engine,
            verifier=verifier,
            answer_kind=answer_kind,
            max_tokens=max_tokens,
            seed=seed,
        )
        ids = vote_ids(s.answers, answer_kind)
        vote = weighted_vote(ids[None, :], s.scores[None, :])
        chosen = first_with_id(ids, int(vote.winner[0]))
        return StrategyResult(
            answer=s.answers[chosen] if chosen is not None else None,
            candidates=s.texts,
            candidate_answers=s.answers,
            verifier_scores=s.scores,
            chosen=chosen,
            agreement=float(vote.share[0]),
            cost=s.tracker.cost(s.verifier, specs),
            strategy=self.name,
        )
