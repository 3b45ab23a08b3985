"""The uniform random policy: the exploration floor every learner should beat."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from uniscale.router.policies.base import (
    CONTEXTS,
    Policy,
    Selection,
    _check_count,
    _check_indices,
    uniform_allowed,
)

logger = logging.getLogger(__name__)

__all__ = ["RandomPolicy"]


class RandomPolicy(Policy):
    """Draw an allowed arm uniformly; propensity ``1 / K_allowed``; learns nothing.

    Parameters
    ----------
    d : int
        Feature dimension of the ``X`` it is given (read for shape checks only).
    context : {"joint", "query"}
        Which ``X`` it accepts; ``"query"`` needs ``n_arms``.
    n_arms : int, optional
        Arm count for ``context="query"``.
    seed : int
        Seed of its generator.
    """

    name = "random"

    def __init__(
        self,
        d: int,
        *,
        context: str = "joint",
        n_arms: int | None = None,
        warmup: int = 0,
        seed: int = 0,
    ) -> None:
        super().__init__(d, warmup=warmup, seed=seed)
        if context not in CONTEXTS:
            raise ValueError(f"RandomPolicy: context must be one of {CONTEXTS}, got {context!r}")
        self.context = context
        if context == "query":
            self._n_arms: int | None = _check_count(n_arms, "RandomPolicy (n_arms)")
        elif n_arms is not None:
            raise ValueError("RandomPolicy: n_arms is only used with context='query'")
        else:
            self._n_arms = None

    @property
    def n_arms(self) -> int | None:
        return self._n_arms

    def add_arms(self, count: int) -> int | None:
        count = _check_count(count, "RandomPolicy.add_arms")
        if self._n_arms is None:
            return None
        first = self._n_arms
        self._n_arms += count
        return first

    def remove_arms(self, indices: Any) -> None:
        idx = _check_indices(indices, self._n_arms, "RandomPolicy.remove_arms")
        if self._n_arms is not None:
            if len(idx) >= self._n_arms:
                raise ValueError("RandomPolicy.remove_arms: cannot remove every arm")
            self._n_arms -= len(idx)

    def _select(self, X, mask, penalty, rng) -> Selection:
        B = X.shape[0]
        K = X.shape[1] if self.context == "joint" else self._n_arms
        arms, props = uniform_allowed(mask, B, K, rng)
        return Selection(arms, np.full(B, np.nan), np.full(B, np.nan), props)

    def _update(self, X, arms, rewards) -> None:
        return None

    def config(self) -> dict[str, Any]:
        return {**super().config(), "context": self.context, "n_arms": self._n_arms}

    def state_dict(self):
        meta, arrays = super().state_dict()
        meta["n_arms"] = self._n_arms
        return meta, arrays

    def load_state_dict(self, meta, arrays) -> None:
        super().load_state_dict(meta, arrays)
        self._n_arms = meta["n_arms"]
