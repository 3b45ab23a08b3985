"""What a strategy run returns."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from uniscale.cost import Cost

logger = logging.getLogger(__name__)

__all__ = ["StrategyResult"]


@dataclass(frozen=True)
class StrategyResult:
    """The outcome of one strategy run on one question.

    Attributes
    ----------
    answer : str or None
        The final answer (extracted, as written), None when no candidate stated one.
    candidates : list of str
        Every candidate solution text (for beam search: every finished path, steps joined by the
        delimiter).
    candidate_answers : list of (str or None)
        The answer extracted from each candidate.
    verifier_scores : ndarray float64 (n_candidates,) or None
        Path score of each candidate (None when no verifier was used).
    chosen : int or None
        Index of the candidate whose answer was returned (the first candidate with the winning
        answer for votes), None when there is no answer.
    agreement : float or None
        Share of the vote (or of the vote weight) the answer got; None for single samples and
        for beam search selected by score.
    cost : Cost
        Tokens per model, branches, steps, wall time, eFLOPs and dollars.
    strategy : str
        Name of the strategy.
    extra : dict
        Strategy-specific details (e.g. beam search's pruned paths, per-step scores).
    """

    answer: str | None
    candidates: list[str]
    candidate_answers: list[str | None]
    verifier_scores: np.ndarray | None
    chosen: int | None
    agreement: float | None
    cost: Cost
    strategy: str
    extra: dict[str, Any] = field(default_factory=dict)
