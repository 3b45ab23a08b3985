"""Epsilon-greedy over a shared ridge model: exploit the best estimate, explore uniformly."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from uniscale.router.policies.base import Selection, masked_argmax, uniform_allowed
from uniscale.router.policies.linucb import LinUCBPolicy, _check_float

logger = logging.getLogger(__name__)

__all__ = ["EpsilonGreedyPolicy"]


class EpsilonGreedyPolicy(LinUCBPolicy):
    """With probability ``epsilon`` an allowed arm uniformly, else ``argmax theta^T x - penalty``.

    The ridge model is the shared one of :class:`LinUCBPolicy` with ``alpha = 0``. Propensity of
    the chosen arm: ``(1 - epsilon) * [arm == greedy arm] + epsilon / K_allowed``. Each row uses
    two draws (explore or not, then which arm) whatever the outcome, so the random stream does not
    depend on the data.

    Parameters
    ----------
    d : int
        Joint feature dimension.
    epsilon : float
        Exploration probability in [0, 1].
    lam, gamma, warmup, seed
        As for :class:`LinUCBPolicy`.
    """

    name = "epsilon_greedy"

    def __init__(
        self,
        d: int,
        *,
        epsilon: float = 0.1,
        lam: float = 1.0,
        gamma: float = 1.0,
        warmup: int = 0,
        seed: int = 0,
    ) -> None:
        eps = _check_float(epsilon, "epsilon", "EpsilonGreedyPolicy")
        if eps > 1.0:
            raise ValueError(f"EpsilonGreedyPolicy: epsilon must lie in [0, 1], got {epsilon!r}")
        super().__init__(d, alpha=0.0, lam=lam, gamma=gamma, warmup=warmup, seed=seed)
        self.epsilon = eps

    def _select(self, X, mask, penalty, rng) -> Selection:
        B = X.shape[0]
        mean, width = self.core.scores(X)
        value = np.array(mean, copy=True)
        if penalty is not None:
            value = value - penalty
        greedy = masked_argmax(value, mask)
        explore = rng.random(B) < self.epsilon
        random_arm, p_uniform = uniform_allowed(mask, B, X.shape[1], rng)
        arms = np.where(explore, random_arm, greedy)
        props = self.epsilon * p_uniform + (1.0 - self.epsilon) * (arms == greedy)
        rows = np.arange(B)
        return Selection(arms, value[rows, arms], np.asarray(width)[rows, arms], props)

    def config(self) -> dict[str, Any]:
        cfg = super().config()
        cfg.pop("alpha")
        cfg["epsilon"] = self.epsilon
        return cfg
