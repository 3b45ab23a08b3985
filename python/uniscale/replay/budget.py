"""Budget mode in the replay: the router's budget controller pricing each arm's expected cost.

The price follows :class:`uniscale.router.budget.BudgetController` (projected dual ascent on
mean cost <= target); each arm pays ``price · ncost(a)`` off its score, where ``ncost`` is the
arm's a priori mean cost (prices × recorded mean token counts) on the reward's log-min-max
scale. In budget mode the policy learns from a quality-only reward (the preset's correctness and
verifier weights, renormalised; no cost term): the target, not the reward, holds the cost down.
"""

from __future__ import annotations

import logging

import numpy as np

from uniscale.replay.steps import RewardWeights

logger = logging.getLogger(__name__)

__all__ = ["BudgetPacer", "budget_weights"]


def budget_weights(weights: RewardWeights) -> RewardWeights:
    """The quality-only weights a budget-mode run learns from."""
    q = weights.correct + weights.verifier
    if q <= 0:
        return RewardWeights(1.0, 0.0, 0.0)
    return RewardWeights(weights.correct / q, weights.verifier / q, 0.0)


class BudgetPacer:
    """Per-arm penalties for a target mean cost per query.

    Parameters
    ----------
    target : float
        Target mean cost per query (> 0), in the unit of the observed costs.
    norm_cost : np.ndarray, float64, shape (K,)
        Each arm's expected cost normalised to [0, 1].
    eta : float
        Step size of the price.
    """

    def __init__(self, target: float, norm_cost: np.ndarray, eta: float = 0.05) -> None:
        from uniscale.router.budget import BudgetConfig, BudgetController

        nc = np.asarray(norm_cost, dtype=np.float64)
        if nc.ndim != 1 or nc.size == 0 or not np.all((nc >= 0) & (nc <= 1)):
            raise ValueError(
                f"BudgetPacer: norm_cost must be a non-empty (K,) array in [0, 1], "
                f"got shape {nc.shape}"
            )
        self.controller = BudgetController(BudgetConfig(target=float(target), eta=float(eta)))
        self.norm_cost = nc

    def penalty(self) -> np.ndarray:
        """float64 (K,): ``price · ncost``."""
        return self.controller.lam * self.norm_cost

    def observe(self, cost: float) -> None:
        """Feed the cost of the arm just played."""
        self.controller.observe(cost)
