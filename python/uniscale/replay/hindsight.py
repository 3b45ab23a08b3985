"""Baselines that know the outcomes: the per-query oracle and the best fixed arm in hindsight.

Both are computed on the evaluated steps of a stream from the same per-step outcomes the learning
policies see, so no policy can beat the oracle on any step, and the best fixed arm has the largest
total reward of all single arms on that stream.
"""

from __future__ import annotations

import logging

import numpy as np

from uniscale.replay.steps import PlayLog, StepTable

logger = logging.getLogger(__name__)

__all__ = ["best_fixed_arm", "oracle", "play_fixed"]


def oracle(table: StepTable, name: str = "oracle") -> PlayLog:
    """The best arm at every step (ties to the cheapest in dollars, then the lowest index)."""
    best = table.reward.max(axis=1, keepdims=True)
    tied = table.reward >= best
    dollars = np.where(tied, table.costs["dollars"], np.inf)
    return PlayLog.from_arms(name, table, np.argmin(dollars, axis=1))


def best_fixed_arm(table: StepTable, steps: np.ndarray | None = None) -> int:
    """The arm with the largest total reward over ``steps`` (bool (T,); default: evaluated).

    Ties go to the lowest index.
    """
    if steps is None:
        steps = table.stream.evaluate
    steps = np.asarray(steps, dtype=bool)
    if steps.shape != (table.n_steps,) or not steps.any():
        raise ValueError(
            f"best_fixed_arm: steps must be a bool mask of shape "
            f"({table.n_steps},) selecting at least one step"
        )
    return int(np.argmax(table.reward[steps].sum(axis=0)))


def play_fixed(table: StepTable, arm: int, name: str) -> PlayLog:
    """Play one arm at every step."""
    return PlayLog.from_arms(name, table, np.full(table.n_steps, arm, dtype=np.int64))
