"""Test-time-scaling strategies: one sample, self-consistency, best-of-N, weighted vote and
verifier-guided step-level beam search, each with its cost (:mod:`uniscale.cost`).

Every strategy is a frozen dataclass of validated parameters with one coroutine,
``run(question, engine, *, verifier=None, answer_kind="math", max_tokens=256, seed=None)``,
returning a :class:`StrategyResult`.
"""

from __future__ import annotations

from typing import Any

from uniscale.strategies.base import Strategy
from uniscale.strategies.beam_search import BeamSearch
from uniscale.strategies.best_of_n import BestOfN
from uniscale.strategies.prompts import build_messages, states_final_answer
from uniscale.strategies.result import StrategyResult
from uniscale.strategies.self_consistency import SelfConsistency
from uniscale.strategies.single import Single
from uniscale.strategies.verifiers import (
    SelfConfidenceVerifier,
    StepScores,
    Verifier,
    VLLMRewardVerifier,
)
from uniscale.strategies.weighted_vote import WeightedVote

__all__ = [
    "STRATEGIES",
    "BeamSearch",
    "BestOfN",
    "SelfConfidenceVerifier",
    "SelfConsistency",
    "Single",
    "StepScores",
    "Strategy",
    "StrategyResult",
    "VLLMRewardVerifier",
    "Verifier",
    "WeightedVote",
    "build_messages",
    "make_strategy",
    "states_final_answer",
]

#: Strategy classes by name, as arm spaces name them.
STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls for cls in (Single, SelfConsistency, BestOfN, WeightedVote, BeamSearch)
}


def make_strategy(name: str, **params: Any) -> Strategy:
    """Build a strategy by name (``"single"``, ``"self_consistency"``, ``"best_of_n"``,
    ``"weighted_vote"``, ``"beam_search"``) with its parameters.

    Raises
    ------
    ValueError
        Unknown name.
    TypeError
        A parameter the strategy does not declare.
    """
    try:
        cls = STRATEGIES[name]
    except KeyError:
        raise ValueError(
            f"make_strategy: name must be one of {sorted(STRATEGIES)}, got {name!r}"
        ) from None
    try:
        return cls(**params)
    except TypeError as exc:
        if "unexpected keyword" in str(exc):
            raise TypeError(f"make_strategy: {name} does not take {exc}") from None
        raise
