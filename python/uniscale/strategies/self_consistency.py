"""Self-consistency: n samples, majority vote over their canonicalised answers."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from uniscale.cost import ModelSpec
from uniscale.strategies._sampling import NSampleStrategy, first_with_id, vote_ids
from uniscale.strategies.base import check_float, check_int
from uniscale.strategies.result import StrategyResult

logger = logging.getLogger(__name__)

__all__ = ["SelfConsistency"]


@dataclass(frozen=True)
class SelfConsistency(NSampleStrategy):
    """n sampled solutions; the most frequent answer wins (``aggregate.majority_vote``).

    Answers vote together when their :func:`uniscale.answers.canonical_key` is equal; a
    solution without an answer does not vote. Ties go to the answer that appears first.

    Parameters
    ----------
    n : int
        Number of samples (>= 1).
    temperature, top_p : float
    """

    n: int = 8
    temperature: float = 0.7
    top_p: float = 1.0

    name: ClassVar[str] = "self_consistency"

    def __post_init__(self) -> None:
        check_int("SelfConsistency", "n", self.n)
        check_float("SelfConsistency", "temperature", self.temperature, lo=0.0)
        check_float("SelfConsistency", "top_p", self.top_p, lo=0.0, hi=1.0)

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
        from uniscale.aggregate import majority_vote

        s = await self.sample_and_score(
            question,
            engine,
            verifier=verifier,
            answer_kind=answer_kind,
            max_tokens=max_tokens,
            seed=seed,
        )
        ids = vote_ids(s.answers, answer_kind)
        vote = majority_vote(ids[None, :])
        chosen = first_with_id(ids, int(vote.winner[0]))
        return StrategyResult(
            answer=s.answers[chosen] if chosen is not None else None,
            candidates=s.texts,
            candidate_answers=s.answers,
            verifier_scores=None,
            chosen=chosen,
            agreement=float(vote.agreement[0]),
            cost=s.tracker.cost(None, specs),
            strategy=self.name,
        )
