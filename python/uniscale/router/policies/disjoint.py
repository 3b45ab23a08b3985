"""Disjoint LinUCB: one ridge model per arm over query features, on the compiled core.

For arm a: ``mean_a = theta_a^T x``, ``width_a = sqrt(x^T A_a^{-1} x)``, and the policy picks
``argmax_a mean_a + alpha * width_a - penalty_a``. Nothing is shared between arms, so a new arm
starts from the prior; :meth:`add_arms` / :meth:`remove_arms` keep every other arm's model.
"""

from __future__ import annotations

import logging
from typing import Any

from uniscale.router.policies._core_state import CorePolicy
from uniscale.router.policies.base import _check_count, _check_indices

logger = logging.getLogger(__name__)

__all__ = ["DisjointLinUCBPolicy"]


class DisjointLinUCBPolicy(CorePolicy):
    """Per-arm LinUCB on ``uniscale.DisjointLinUCB``; reads query features ``X`` (B, d).

    Parameters
    ----------
    n_arms : int
        Number of arms K.
    d : int
        Query feature dimension.
    alpha, lam, gamma, warmup, seed
        As for :class:`~uniscale.router.policies.linucb.LinUCBPolicy`.
    """

    name = "disjoint"
    context = "query"

    def __init__(
        self,
        n_arms: int,
        d: int,
        *,
        alpha: float = 1.0,
        lam: float = 1.0,
        gamma: float = 1.0,
        warmup: int = 0,
        seed: int = 0,
    ) -> None:
        super().__init__(d, warmup=warmup, seed=seed)
        n_arms = _check_count(n_arms, type(self).__name__)
        self._init_core(alpha, lam, gamma, n_arms)

    @staticmethod
    def _core_class() -> Any:
        from uniscale.bandit import DisjointLinUCB

        return DisjointLinUCB

    @property
    def n_arms(self) -> int:
        return int(self.core.n_arms)

    def add_arms(self, count: int) -> int:
        count = _check_count(count, f"{type(self).__name__}.add_arms")
        return int(self.core.add_arms(count))

    def remove_arms(self, indices: Any) -> None:
        idx = _check_indices(indices, self.n_arms, f"{type(self).__name__}.remove_arms")
        if len(idx) >= self.n_arms:
            raise ValueError(f"{type(self).__name__}.remove_arms: cannot remove every arm")
        self.core.remove_arms(idx)

    def _shape_config(self) -> dict[str, Any]:
        return {"n_arms": self.n_arms}
