"""Shared LinUCB over joint features on the compiled core, and its alpha = 0 variant (greedy).

One linear model serves every arm: ``mean = theta^T x_{t,a}``, ``width = sqrt(x_{t,a}^T A^{-1}
x_{t,a})`` and the policy picks ``argmax_a mean + alpha * width - penalty_a`` over allowed arms
(ties to the lowest index). The model, its rank-1 updates and the widths live in
``uniscale.LinUCB``; this file only wires it into the :class:`~uniscale.router.policies.base.Policy`
contract.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from uniscale.router.policies._core_state import CorePolicy
from uniscale.router.policies._core_state import _check_float as _check_float  # re-exported

logger = logging.getLogger(__name__)

__all__ = ["LinUCBPolicy", "GreedyPolicy"]


class LinUCBPolicy(CorePolicy):
    """Shared (joint-feature) LinUCB on ``uniscale.LinUCB``.

    Parameters
    ----------
    d : int
        Joint feature dimension.
    alpha : float
        Exploration weight (>= 0).
    lam : float
        Ridge prior: ``A`` starts at ``lam * I`` (> 0).
    gamma : float
        Discount in (0, 1]: ``A <- gamma * A + x x^T`` (1 = no forgetting).
    warmup : int
        Uniform random decisions before LinUCB takes over.
    seed : int
        Seed of the policy's generator (warm-up draws).
    """

    name = "linucb"
    context = "joint"

    def __init__(
        self,
        d: int,
        *,
        alpha: float = 1.0,
        lam: float = 1.0,
        gamma: float = 1.0,
        warmup: int = 0,
        seed: int = 0,
    ) -> None:
        super().__init__(d, warmup=warmup, seed=seed)
        self._init_core(alpha, lam, gamma)

    @staticmethod
    def _core_class() -> Any:
        from uniscale.bandit import LinUCB

        return LinUCB

    @property
    def theta(self) -> np.ndarray:
        """Current ridge estimate, float64 (d,)."""
        return np.asarray(self.core.theta)


class GreedyPolicy(LinUCBPolicy):
    """LinUCB with ``alpha = 0``: always the arm with the best ridge estimate (after warm-up)."""

    name = "greedy"

    def __init__(
        self, d: int, *, lam: float = 1.0, gamma: float = 1.0, warmup: int = 0, seed: int = 0
    ) -> None:
        super().__init__(d, alpha=0.0, lam=lam, gamma=gamma, warmup=warmup, seed=seed)

    def config(self) -> dict[str, Any]:
        cfg = super().config()
        cfg.pop("alpha")
        return cfg
