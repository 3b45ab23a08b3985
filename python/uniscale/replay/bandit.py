"""Drive a router policy over one replay stream: select, observe the recorded outcome, update.

The policy is any :class:`uniscale.router.policies.Policy` with joint features; this loop only
feeds it rows of a precomputed (Q, K, d) feature array and rewards from a
:class:`~uniscale.replay.steps.StepTable`. An arm subset (routing-only, TTS-only) is played by
slicing the features, so the policy sees a smaller arm set and the log maps back to full indices.

Budget mode: a controller object adds a per-arm penalty ``price · expected cost`` to the policy's
scores and adjusts its price after each step from the observed cost (see
:class:`~uniscale.replay.budget.BudgetPacer`).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from uniscale.replay.steps import PlayLog, StepTable

logger = logging.getLogger(__name__)

__all__ = ["run_policy"]


def run_policy(
    policy: Any,
    X: np.ndarray,
    table: StepTable,
    *,
    name: str,
    subset: np.ndarray | None = None,
    pacer: Any = None,
    cost_unit: str = "dollars",
) -> PlayLog:
    """Play ``policy`` on the stream of ``table``.

    Parameters
    ----------
    policy : uniscale.router.policies.Policy
        A joint-feature policy (``policy.context == "joint"``), fresh or warm.
    X : np.ndarray, float64, shape (Q, K, d)
        Joint features of every query and arm.
    table : StepTable
        Rewards and costs of the stream (T steps, K arms).
    name : str
        The log's name.
    subset : np.ndarray, int64, optional
        Arm indices the policy may choose from (in this order); default all K.
    pacer : optional
        A budget pacer with ``penalty() -> (K_sub,)`` and ``observe(cost)``; None = no budget.
    cost_unit : str
        The unit the pacer observes.

    Returns
    -------
    PlayLog

    Raises
    ------
    ValueError
        A policy that does not read joint features, or shapes that do not match.
    """
    if getattr(policy, "context", "joint") != "joint":
        raise ValueError(
            f"run_policy: policy {name!r} reads {policy.context!r} features; the "
            "replay drives joint-feature policies"
        )
    Q, K, d = X.shape
    if pacer is not None and subset is not None:
        raise ValueError(
            "run_policy: budget mode prices every arm; it cannot be combined with an arm subset"
        )
    if table.n_arms != K:
        raise ValueError(f"run_policy: X has {K} arms, the step table {table.n_arms}")
    if subset is not None:
        subset = np.asarray(subset, dtype=np.int64)
        Xs = np.ascontiguousarray(X[:, subset])
        reward = table.reward[:, subset]
        cost = table.costs[cost_unit][:, subset]
    else:
        Xs, reward, cost = X, table.reward, table.costs[cost_unit]
    qs = table.stream.queries
    T = table.n_steps
    chosen = np.empty(T, dtype=np.int64)
    select, update = policy.select, policy.update
    for t in range(T):
        q = qs[t]
        penalty = None if pacer is None else pacer.penalty()
        a = int(select(Xs[q : q + 1], penalty=penalty).arms[0])
        update(Xs[q, a], a, float(reward[t, a]))
        if pacer is not None:
            pacer.observe(float(cost[t, a]))
        chosen[t] = a
    if subset is not None:
        chosen = subset[chosen]
    return PlayLog.from_arms(name, table, chosen)
