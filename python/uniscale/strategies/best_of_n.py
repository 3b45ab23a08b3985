"""Best-of-N: n samples scored by a verifier; the best-scored one with an answer is kept."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from uniscale.cost import ModelSpec
from uniscale.strategies._sampling import NSampleStrategy
from uniscale.strategies.base import check_float, check_int
from uniscale.strategies.result import StrategyResult
from uniscale.strategies.verifiers.base import REDUCE_MODES

logger = logging.getLogger(__name__)

__all__ = ["BestOfN"]


@dataclass(frozen=True)
class BestOfN(NSampleStrategy):
    """n sampled solutions; the verifier's favourite among those that state an answer wins
    (``aggregate.best_of_n``; ties to the lowest index).

    Parameters
    ----------
    n : int
    temperature, top_p : float
    reduce : {"last", "min", "mean", "prod", "sum_log"}
        How a solution's step scores become one score (``aggregate.prm_reduce``).
    """

    n: int = 8
    temperature: float = 0.7
    top_p: float = 1.0
    reduce: str = "last"

    name: ClassVar[str] = "best_of_n"
    uses_verifier: ClassVar[bool] = True

    def __post_init__(self) -> None:
        check_int("BestOfN", "n", self.n)
        check_float("BestOfN", "temperature", self.temperature, lo=0.0)
        check_float("BestOfN", "top_p", self.top_p, lo=0.0, hi=1.0)
        if self.reduce not in REDUCE_MODES:
            raise ValueError(f"BestOfN: reduce must be one of {REDUCE_MODES}, got {self.reduce!r}")

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
        from uniscale.aggregate import best_of_n

        s = await self.sample_and_score(
            question,
            engine,
            verifier=verifier,
            answer_kind=answer_kind,
            max_tokens=max_tokens,
            seed=seed,
        )
        valid = np.array([a is not None for a in s.answers], dtype=bool)
        best = best_of_n(s.scores[None, :], valid[None, :])
        index = int(best.index[0])
        chosen = index if index >= 0 else None
        return StrategyResult(
            answer=s.answers[chosen] if chosen is not None else None,
            candidates=s.texts,
            candidate_answers=s.answers,
            verifier_scores=s.scores,
            chosen=chosen,
            agreement=None,
            cost=s.tracker.cost(s.verifier, specs),
            strategy=self.name,
        )
