"""The MoT cascade (Yue et al., ICLR 2024): a cheap arm first, the strong arm when its votes split.

Every query goes to the weak arm (a cheap model voting over n samples); when the share of votes
behind its answer is below ``threshold``, the query is sent again to the strong arm, whose answer
is kept. The cost is the weak call plus, when escalated, the strong call.

TODO(uniscale): the MoT paper's best weak step votes over CoT and PoT samples together
(MoT-1D-Vote); here the weak arm votes within one configuration, because the sampled outcomes
keep each arm's vote, not its drawn samples.
"""

from __future__ import annotations

import logging

import numpy as np

from uniscale.replay.steps import PlayLog, RewardWeights, StepTable

logger = logging.getLogger(__name__)

__all__ = ["cascade"]


def cascade(
    table: StepTable,
    weak: int,
    strong: int,
    threshold: float,
    *,
    weights: RewardWeights,
    cost_unit: str,
    normalizer,
    name: str = "cascade",
) -> tuple[PlayLog, float]:
    """Play the cascade on one stream.

    Parameters
    ----------
    table : StepTable
    weak, strong : int
        Arm indices.
    threshold : float
        Escalate when the weak arm's vote agreement is below this, in [0, 1] (1.0: escalate
        unless unanimous; 0: never escalate).
    weights, cost_unit, normalizer
        How the rewards of ``table`` were made; the cascade's own reward is made the same way
        from its combined cost (the normaliser clips it to [0, 1]).

    Returns
    -------
    (PlayLog, float)
        The log (``arms`` = the arm whose answer was kept) and the share of escalated steps.

    Raises
    ------
    IndexError, ValueError
        An arm index out of range, a threshold outside [0, 1].
    """
    K = table.n_arms
    for label, a in (("weak", weak), ("strong", strong)):
        if isinstance(a, bool) or not isinstance(a, (int, np.integer)) or not 0 <= a < K:
            raise IndexError(f"cascade: {label} must be an arm index in [0, {K}), got {a!r}")
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"cascade: threshold must lie in [0, 1], got {threshold!r}")
    esc = table.agreement[:, weak] < threshold
    arms = np.where(esc, strong, weak).astype(np.int64)
    t = np.arange(table.n_steps)
    correct = table.correct[t, arms]
    ver = table.verifier[t, arms]
    costs = {u: c[:, weak] + np.where(esc, c[:, strong], 0.0) for u, c in table.costs.items()}
    norm = np.asarray(normalizer(costs[cost_unit]), dtype=np.float64)
    reward = weights.combine(correct, ver, norm)
    log = PlayLog(name, arms, reward, correct, costs["dollars"], costs["tokens"], costs["eflops"])
    ev = table.stream.evaluate
    return log, float(esc[ev].mean())
