"""The fixed-arm policy: always one arm (a baseline, or a pinned deployment)."""

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
)

logger = logging.getLogger(__name__)

__all__ = ["FixedArmPolicy"]


class FixedArmPolicy(Policy):
    """Always choose arm ``arm`` (propensity 1); learns nothing.

    A mask that forbids the fixed arm raises ``ValueError``: silently answering with another
    arm would make the baseline lie. Removing arms below it moves its index down; removing the
    arm itself raises.

    Parameters
    ----------
    d : int
        Feature dimension of the ``X`` it is given (shape checks only).
    arm : int
        The arm index (>= 0; must be < K of each batch).
    context : {"joint", "query"}
        Which ``X`` it accepts.
    """

    name = "fixed"

    def __init__(
        self,
        d: int,
        *,
        arm: int,
        context: str = "joint",
        n_arms: int | None = None,
        warmup: int = 0,
        seed: int = 0,
    ) -> None:
        super().__init__(d, warmup=warmup, seed=seed)
        if isinstance(arm, bool) or not isinstance(arm, (int, np.integer)) or arm < 0:
            raise ValueError(f"FixedArmPolicy: arm must be an int >= 0, got {arm!r}")
        if context not in CONTEXTS:
            raise ValueError(f"FixedArmPolicy: context must be one of {CONTEXTS}, got {context!r}")
        self.arm = int(arm)
        self.context = context
        self._n_arms: int | None = None
        if context == "query":
            self._n_arms = (
                self.arm + 1 if n_arms is None else _check_count(n_arms, "FixedArmPolicy")
            )
            if self.arm >= self._n_arms:
                raise ValueError(f"FixedArmPolicy: arm {self.arm} >= n_arms {self._n_arms}")
        elif n_arms is not None:
            raise ValueError("FixedArmPolicy: n_arms is only used with context='query'")

    @property
    def n_arms(self) -> int | None:
        return self._n_arms

    def add_arms(self, count: int) -> int | None:
        count = _check_count(count, "FixedArmPolicy.add_arms")
        if self._n_arms is None:
            return None
        first = self._n_arms
        self._n_arms += count
        return first

    def remove_arms(self, indices: Any) -> None:
        idx = _check_indices(indices, None, "FixedArmPolicy.remove_arms")
        if self.arm in idx:
            raise ValueError(f"FixedArmPolicy.remove_arms: cannot remove the fixed arm {self.arm}")
        if self._n_arms is not None:
            if len(idx) and idx.max() >= self._n_arms:
                raise IndexError(f"FixedArmPolicy.remove_arms: indices must be < {self._n_arms}")
            self._n_arms -= len(idx)
        self.arm -= int(np.sum(idx < self.arm))

    def _precheck(self, B, K, mask, op) -> None:
        if self.arm >= K:
            raise IndexError(f"FixedArmPolicy.select: fixed arm {self.arm} but only {K} arms")
        if mask is not None and not np.all(mask[:, self.arm]):
            rows = np.flatnonzero(~mask[:, self.arm]).tolist()
            raise ValueError(
                f"FixedArmPolicy.select: mask forbids the fixed arm {self.arm} in row(s) {rows}"
            )

    def _select(self, X, mask, penalty, rng) -> Selection:
        B = X.shape[0]
        return Selection(
            np.full(B, self.arm, dtype=np.int64),
            np.full(B, np.nan),
            np.full(B, np.nan),
            np.ones(B),
        )

    def _update(self, X, arms, rewards) -> None:
        return None

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            "arm": self.arm,
            "context": self.context,
            "n_arms": self._n_arms,
        }

    def state_dict(self):
        meta, arrays = super().state_dict()
        meta["arm"] = self.arm
        meta["n_arms"] = self._n_arms
        return meta, arrays

    def load_state_dict(self, meta, arrays) -> None:
        super().load_state_dict(meta, arrays)
        self.arm = int(meta["arm"])
        self._n_arms = meta["n_arms"]
