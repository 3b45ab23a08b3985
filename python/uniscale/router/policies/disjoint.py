"""Disjoint LinUCB: one ridge model per arm over query features, on the compiled core.

For arm a: ``mean_a = theta_a^T x``, ``width_a = sqrt(x^T A_a^{-1} x)``, and the policy picks
``argmax_a mean_a + alpha * width_a - penalty_a``. Nothing is shared between arms, so a new arm
starts from the prior; :meth:`add_arms` / :meth:`remove_arms` keep every other arm's model.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from uniscale.router.policies._core_state import join_core_state, split_core_state
from uniscale.router.policies.base import (
    Policy,
    Selection,
    _check_count,
    _check_indices,
    masked_argmax,
)
from uniscale.router.policies.linucb import _check_float

logger = logging.getLogger(__name__)

__all__ = ["DisjointLinUCBPolicy"]


class DisjointLinUCBPolicy(Policy):
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
        op = type(self).__name__
        n_arms = _check_count(n_arms, op)
        self._alpha = _check_float(alpha, "alpha", op)
        self.lam = _check_float(lam, "lam", op, strict=True)
        self.gamma = _check_float(gamma, "gamma", op, strict=True)
        if self.gamma > 1.0:
            raise ValueError(f"{op}: gamma must lie in (0, 1], got {gamma!r}")
        from uniscale.bandit import DisjointLinUCB

        self.core = DisjointLinUCB(
            n_arms, self.d, alpha=self._alpha, lam=self.lam, gamma=self.gamma
        )

    @property
    def n_arms(self) -> int:
        return int(self.core.n_arms)

    @property
    def alpha(self) -> float:
        return self._alpha

    @alpha.setter
    def alpha(self, value: float) -> None:
        self._alpha = _check_float(value, "alpha", f"{type(self).__name__}.alpha")
        self.core.alpha = self._alpha

    def add_arms(self, count: int) -> int:
        count = _check_count(count, f"{type(self).__name__}.add_arms")
        return int(self.core.add_arms(count))

    def remove_arms(self, indices: Any) -> None:
        idx = _check_indices(indices, self.n_arms, f"{type(self).__name__}.remove_arms")
        if len(idx) >= self.n_arms:
            raise ValueError(f"{type(self).__name__}.remove_arms: cannot remove every arm")
        self.core.remove_arms(idx)

    def _select(self, X, mask, penalty, rng) -> Selection:
        mean, width = self.core.scores(X)
        value = mean + self._alpha * width if self._alpha else np.array(mean, copy=True)
        if penalty is not None:
            value = value - penalty
        arms = masked_argmax(value, mask)
        rows = np.arange(X.shape[0])
        return Selection(arms, value[rows, arms], np.asarray(width)[rows, arms], np.ones(len(arms)))

    def _update(self, X, arms, rewards) -> None:
        self.core.update(arms, X, rewards)

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            "n_arms": self.n_arms,
            "alpha": self._alpha,
            "lam": self.lam,
            "gamma": self.gamma,
        }

    def state_dict(self):
        meta, arrays = super().state_dict()
        scalars, core_arrays = split_core_state(self.core.state_dict())
        meta["alpha"] = self._alpha
        meta["core"] = scalars
        arrays.update({f"core.{k}": v for k, v in core_arrays.items()})
        return meta, arrays

    def load_state_dict(self, meta, arrays) -> None:
        from uniscale.bandit import DisjointLinUCB

        core_arrays = {k[5:]: v for k, v in arrays.items() if k.startswith("core.")}
        core = DisjointLinUCB.from_state_dict(join_core_state(meta["core"], core_arrays))
        if core.d != self.d:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: core has d = {core.d}, expected {self.d}"
            )
        super().load_state_dict(meta, arrays)
        self.core = core
        self._alpha = float(meta["alpha"])
        self.core.alpha = self._alpha
