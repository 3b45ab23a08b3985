"""The MoT cascade (Yue et al., ICLR 2024): a cheap arm first, the strong arm when its votes split.

Every query goes to the weak arm (a cheap model voting over n samples); when the share of votes
behind its answer is below ``threshold``, the query is sent again to the strong arm, whose answer
is kept. The cost is the weak call plus, when escalated, the strong call.

The weak step can also be several arms voting together, e.g. CoT and PoT samples of one model as
in the paper's MoT-1D-Vote, or two prompt sets as in its 2D vote (see
:func:`uniscale.replay.outcomes.vote_mixture`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from uniscale.replay.steps import PlayLog, RewardWeights, StepTable

logger = logging.getLogger(__name__)

__all__ = ["cascade"]


def cascade(
    table: StepTable,
    weak: int | Sequence[int],
    strong: int,
    threshold: float,
    *,
    weights: RewardWeights,
    cost_unit: str,
    normalizer,
    weak_vote: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    name: str = "cascade",
) -> tuple[PlayLog, float]:
    """Play the cascade on one stream.

    Parameters
    ----------
    table : StepTable
    weak : int or sequence of int
        The weak step's arm, or several arms whose samples vote together (the MoT mixed vote);
        its cost is the sum of theirs.
    strong : int
        The strong arm.
    threshold : float
        Escalate when the weak arm's vote agreement is below this, in [0, 1] (1.0: escalate
        unless unanimous; 0: never escalate).
    weights, cost_unit, normalizer
        How the rewards of ``table`` were made; the cascade's own reward is made the same way
        from its combined cost (the normaliser clips it to [0, 1]).
    weak_vote : (correct bool (T,), agreement (T,), verifier (T,)), optional
        The outcome of the weak step's joint vote at every step; required when ``weak`` has
        several arms (see :func:`uniscale.replay.outcomes.vote_mixture`), ignored otherwise.

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
    parts = [weak] if isinstance(weak, (int, np.integer)) else list(weak)
    if not parts:
        raise ValueError("cascade: weak must name at least one arm")
    for label, a in [("weak", p) for p in parts] + [("strong", strong)]:
        if isinstance(a, bool) or not isinstance(a, (int, np.integer)) or not 0 <= a < K:
            raise IndexError(f"cascade: {label} must be an arm index in [0, {K}), got {a!r}")
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"cascade: threshold must lie in [0, 1], got {threshold!r}")
    T = table.n_steps
    if len(parts) == 1:
        w_correct = table.correct[:, parts[0]]
        w_agree = table.agreement[:, parts[0]]
        w_ver = table.verifier[:, parts[0]]
    else:
        if weak_vote is None or any(np.shape(v) != (T,) for v in weak_vote):
            raise ValueError(
                f"cascade: a weak step of {len(parts)} arms needs weak_vote, three "
                f"arrays of shape ({T},)"
            )
        w_correct, w_agree, w_ver = (np.asarray(v) for v in weak_vote)
    esc = w_agree < threshold
    arms = np.where(esc, strong, parts[0]).astype(np.int64)
    correct = np.where(esc, table.correct[:, strong], w_correct.astype(bool))
    ver = np.where(esc, table.verifier[:, strong], w_ver)
    costs = {
        u: c[:, parts].sum(axis=1) + np.where(esc, c[:, strong], 0.0)
        for u, c in table.costs.items()
    }
    norm = np.asarray(normalizer(costs[cost_unit]), dtype=np.float64)
    reward = weights.combine(correct, ver, norm)
    log = PlayLog(name, arms, reward, correct, costs["dollars"], costs["tokens"], costs["eflops"])
    ev = table.stream.evaluate
    return log, float(esc[ev].mean())
