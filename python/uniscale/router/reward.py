"""Rewards: r = w_correct * correct + w_verifier * verifier + w_cost * (1 - normalized cost).

``correct`` is 0/1 (or a share in [0, 1]), ``verifier`` a score in [0, 1], and the cost is mapped
to [0, 1] on a log10 scale between ``cost_lo`` and ``cost_hi`` (see
:class:`uniscale.cost.LogMinMaxNormalizer`). When those bounds are not given, the router sets them
itself (it keeps them and saves them with its state):

1. A priori, at the first positive cost ``c`` (arm ``a``): each arm's cost is estimated as
   ``c * hint(b) / hint(a)`` with the size hint ``hint = parameter count x samples per request``
   (the hint the budget's expected costs use), and the bounds start at the cheapest and dearest
   estimate. So the first reward already says whether ``a`` is a cheap or a dear arm of the space.
   The hint stands for eFLOPs and, where prices grow with size, dollars; for a unit it fits less
   well (tokens) the bounds are only a wider or narrower first guess.
2. Observed costs outside the bounds widen them (never narrow), so the same cost keeps its
   reward except when a new extreme is seen.
3. Until the bounds span a range (all arms have the same hint and one distinct cost was seen,
   or no positive cost yet), every cost normalises to the neutral 0.5, neither cheap nor dear.

Presets: ``cost_sensitive`` (0.1, 0.1, 0.8) and ``quality_priority`` (0.4, 0.4, 0.2).

Partial outcomes: a part whose weight is 0 is never needed. When the caller closes a decision
before every needed part came, the reward uses the parts that did come with their weights
rescaled to sum as the full weights do (so a missing part is neither a success nor a failure).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["RewardConfig", "PRESETS", "PARTS", "resolve_reward"]

#: The outcome parts, in weight order.
PARTS = ("correct", "verifier", "cost")


def _weight(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"RewardConfig: {name} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"RewardConfig: {name} must be finite and >= 0, got {value!r}")
    return v


@dataclass(frozen=True)
class RewardConfig:
    """Reward weights and cost bounds (validated at construction).

    Parameters
    ----------
    w_correct, w_verifier, w_cost : float
        Non-negative weights, not all zero.
    cost_lo, cost_hi : float, optional
        Cost bounds for the log normalisation (both > 0, lo <= hi); None = the router sets them.
    """

    w_correct: float = 0.4
    w_verifier: float = 0.4
    w_cost: float = 0.2
    cost_lo: float | None = None
    cost_hi: float | None = None

    def __post_init__(self) -> None:
        for name in ("w_correct", "w_verifier", "w_cost"):
            object.__setattr__(self, name, _weight(getattr(self, name), name))
        if self.w_correct + self.w_verifier + self.w_cost <= 0:
            raise ValueError("RewardConfig: at least one weight must be > 0, got all zero")
        if (self.cost_lo is None) != (self.cost_hi is None):
            raise ValueError(
                f"RewardConfig: give both cost_lo and cost_hi or neither, got "
                f"{self.cost_lo!r}, {self.cost_hi!r}"
            )
        if self.cost_lo is not None:
            lo, hi = _weight(self.cost_lo, "cost_lo"), _weight(self.cost_hi, "cost_hi")
            if lo <= 0 or lo > hi:
                raise ValueError(f"RewardConfig: need 0 < cost_lo <= cost_hi, got {lo!r}, {hi!r}")
            object.__setattr__(self, "cost_lo", lo)
            object.__setattr__(self, "cost_hi", hi)

    @property
    def weights(self) -> dict[str, float]:
        return {"correct": self.w_correct, "verifier": self.w_verifier, "cost": self.w_cost}

    @property
    def needed(self) -> tuple[str, ...]:
        """Parts with a non-zero weight: the reward is complete when all of them came."""
        return tuple(p for p in PARTS if self.weights[p] > 0)

    def combine(self, parts: Mapping[str, float]) -> float:
        """Reward from ``parts`` (``correct``, ``verifier`` in [0, 1], ``cost`` = the *normalized*
        cost in [0, 1]); missing needed parts rescale the others (module docstring)."""
        w = self.weights
        total = sum(w[p] for p in self.needed)
        have = [p for p in self.needed if p in parts]
        if not have:
            raise ValueError("RewardConfig.combine: none of the weighted parts is present")
        got = sum(w[p] for p in have)
        value = 0.0
        for p in have:
            v = parts[p]
            value += w[p] * ((1.0 - v) if p == "cost" else v)
        return value * total / got

    def to_dict(self) -> dict[str, Any]:
        return {
            "w_correct": self.w_correct,
            "w_verifier": self.w_verifier,
            "w_cost": self.w_cost,
            "cost_lo": self.cost_lo,
            "cost_hi": self.cost_hi,
        }


#: Named presets (weights only; the router sets the cost bounds, module docstring).
PRESETS: dict[str, RewardConfig] = {
    "cost_sensitive": RewardConfig(0.1, 0.1, 0.8),
    "quality_priority": RewardConfig(0.4, 0.4, 0.2),
}


def resolve_reward(reward: str | RewardConfig | Mapping[str, Any]) -> RewardConfig:
    """A preset name, a RewardConfig, or a mapping of RewardConfig fields -> RewardConfig."""
    if isinstance(reward, RewardConfig):
        return reward
    if isinstance(reward, str):
        if reward not in PRESETS:
            raise ValueError(
                f"reward: unknown preset {reward!r}, expected one of {sorted(PRESETS)}"
            )
        return PRESETS[reward]
    if isinstance(reward, Mapping):
        unknown = set(reward) - set(RewardConfig.__dataclass_fields__)
        if unknown:
            raise ValueError(f"reward: unknown fields {sorted(unknown)}")
        return RewardConfig(**reward)
    raise TypeError(
        f"reward: expected a preset name, RewardConfig or mapping, got {type(reward)!r}"
    )
