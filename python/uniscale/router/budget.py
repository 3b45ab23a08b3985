"""Budget mode: hold the average cost per request near a target by pricing cost online.

Rule (projected dual ascent on the constraint E[cost] <= target). After each observed cost c_t::

    lambda <- max(0, lambda + eta * (c_t / target - 1))

and at selection time every arm pays ``lambda * ncost(a)``, subtracted from its score, where
``ncost(a)`` in [0, 1] is the arm's expected cost on the log scale of the reward's cost
normalisation. Spending above target raises the price, below target lowers it (never below 0),
so the long-run average cost settles near the target whenever some mix of allowed arms meets it.
Dividing by the target makes ``eta`` free of the cost unit (tokens, eFLOPs or dollars).

Expected cost per arm: the mean of its observed costs; for an arm not yet observed, its
size hint ``params * n_samples`` times the median ratio observed cost / hint over observed arms
(before any observation every arm gets the same estimate and the penalty is flat).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["BudgetConfig", "BudgetController", "CostTracker"]


@dataclass(frozen=True)
class BudgetConfig:
    """Target average cost per request (in the unit of the costs fed back) and step size."""

    target: float
    eta: float = 0.05
    lambda0: float = 0.0

    def __post_init__(self) -> None:
        for name in ("target", "eta", "lambda0"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ValueError(f"BudgetConfig: {name} must be a finite number, got {v!r}")
        if self.target <= 0 or self.eta <= 0 or self.lambda0 < 0:
            raise ValueError(
                f"BudgetConfig: need target > 0, eta > 0, lambda0 >= 0, got {self.target!r}, "
                f"{self.eta!r}, {self.lambda0!r}"
            )

    def to_dict(self) -> dict[str, float]:
        return {"target": self.target, "eta": self.eta, "lambda0": self.lambda0}


class BudgetController:
    """The price ``lam`` of the rule above; :meth:`observe` one cost at a time."""

    def __init__(self, config: BudgetConfig) -> None:
        self.config = config
        self.lam = float(config.lambda0)
        self.n = 0
        self.total = 0.0

    def observe(self, cost: float) -> float:
        """Feed one observed cost (finite, >= 0); returns the new price."""
        c = float(cost)
        if not math.isfinite(c) or c < 0:
            raise ValueError(
                f"BudgetController.observe: cost must be finite and >= 0, got {cost!r}"
            )
        self.lam = max(0.0, self.lam + self.config.eta * (c / self.config.target - 1.0))
        self.n += 1
        self.total += c
        return self.lam

    @property
    def mean_cost(self) -> float:
        return self.total / self.n if self.n else float("nan")

    def state(self) -> dict[str, Any]:
        return {"config": self.config.to_dict(), "lam": self.lam, "n": self.n, "total": self.total}

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> BudgetController:
        bc = cls(BudgetConfig(**s["config"]))
        lam, n, total = s["lam"], s["n"], s["total"]
        for name, v in (("lam", lam), ("total", total)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ValueError(f"budget.{name} must be a finite number >= 0, got {v!r}")
            if v < 0:
                raise ValueError(f"budget.{name} must be a finite number >= 0, got {v!r}")
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"budget.n must be an int >= 0, got {n!r}")
        bc.lam, bc.n, bc.total = float(lam), n, float(total)
        return bc


class CostTracker:
    """Observed costs per arm, and the expected cost of every arm (see module docstring).

    TODO(uniscale): the expected cost is per arm, not per query (a long question costs more on
    every arm); a linear cost model over the joint features would price requests individually.
    """

    def __init__(self, n_arms: int) -> None:
        self.sum = np.zeros(n_arms)
        self.count = np.zeros(n_arms, dtype=np.int64)

    def observe(self, arm: int, cost: float) -> None:
        self.sum[arm] += cost
        self.count[arm] += 1

    def add_arms(self, count: int) -> None:
        self.sum = np.concatenate([self.sum, np.zeros(count)])
        self.count = np.concatenate([self.count, np.zeros(count, dtype=np.int64)])

    def remove_arm(self, index: int) -> None:
        self.sum = np.delete(self.sum, index)
        self.count = np.delete(self.count, index)

    def expected(self, hints: np.ndarray) -> np.ndarray:
        """Expected raw cost per arm, float64 (K,), from size ``hints`` (K,) > 0.

        All NaN while no cost has been observed.
        """
        seen = self.count > 0
        if not np.any(seen):
            return np.full(len(hints), np.nan)
        mean = np.where(seen, self.sum / np.maximum(self.count, 1), 0.0)
        ratio = float(np.median(mean[seen] / hints[seen]))
        return np.where(seen, mean, hints * ratio)
