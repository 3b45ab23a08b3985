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

from uniscale.router.policies._core_state import join_core_state, split_core_state
from uniscale.router.policies.base import Policy, Selection, masked_argmax

logger = logging.getLogger(__name__)

__all__ = ["LinUCBPolicy", "GreedyPolicy"]


def _check_float(value: Any, name: str, op: str, *, low: float = 0.0, strict: bool = False):
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: {name} must be a number, got {value!r}") from None
    if not np.isfinite(v) or v < low or (strict and v == low):
        rel = ">" if strict else ">="
        raise ValueError(f"{op}: {name} must be finite and {rel} {low}, got {value!r}")
    return v


class LinUCBPolicy(Policy):
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
        op = type(self).__name__
        self._alpha = _check_float(alpha, "alpha", op)
        self.lam = _check_float(lam, "lam", op, strict=True)
        self.gamma = _check_float(gamma, "gamma", op, strict=True)
        if self.gamma > 1.0:
            raise ValueError(f"{op}: gamma must lie in (0, 1], got {gamma!r}")
        from uniscale.bandit import LinUCB

        self.core = LinUCB(self.d, alpha=self._alpha, lam=self.lam, gamma=self.gamma)

    @property
    def alpha(self) -> float:
        """Exploration weight; settable (e.g. to anneal it)."""
        return self._alpha

    @alpha.setter
    def alpha(self, value: float) -> None:
        self._alpha = _check_float(value, "alpha", f"{type(self).__name__}.alpha")
        self.core.alpha = self._alpha

    @property
    def theta(self) -> np.ndarray:
        """Current ridge estimate, float64 (d,)."""
        return np.asarray(self.core.theta)

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
        return {**super().config(), "alpha": self._alpha, "lam": self.lam, "gamma": self.gamma}

    def state_dict(self):
        meta, arrays = super().state_dict()
        scalars, core_arrays = split_core_state(self.core.state_dict())
        meta["alpha"] = self._alpha
        meta["core"] = scalars
        arrays.update({f"core.{k}": v for k, v in core_arrays.items()})
        return meta, arrays

    def load_state_dict(self, meta, arrays) -> None:
        from uniscale.bandit import LinUCB

        core_arrays = {k[5:]: v for k, v in arrays.items() if k.startswith("core.")}
        core = LinUCB.from_state_dict(join_core_state(meta["core"], core_arrays))
        if core.d != self.d:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: core has d = {core.d}, expected {self.d}"
            )
        super().load_state_dict(meta, arrays)
        self.core = core
        self._alpha = float(meta["alpha"])
        self.core.alpha = self._alpha


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
