"""Per-step views of a replay stream, and what a policy did on it.

:class:`StepTable` gathers, for one stream, every arm's reward, correctness, vote agreement and
costs at every step, so that a policy's per-step work is a table lookup. :class:`PlayLog` is the
record of one policy on one stream.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from uniscale.replay.costs import COST_UNITS, CostTables
from uniscale.replay.outcomes import SampledOutcomes
from uniscale.replay.streams import Stream

logger = logging.getLogger(__name__)

__all__ = ["PlayLog", "StepTable", "RewardWeights"]


@dataclass(frozen=True)
class RewardWeights:
    """r = correct·w_correct + verifier·w_verifier + (1 − normalised cost)·w_cost.

    The presets of the paper: cost-sensitive (0.1, 0.1, 0.8), quality-priority (0.4, 0.4, 0.2).
    """

    correct: float
    verifier: float
    cost: float

    def __post_init__(self) -> None:
        for name in ("correct", "verifier", "cost"):
            v = getattr(self, name)
            if (
                isinstance(v, bool)
                or not isinstance(v, (int, float))
                or not (np.isfinite(v) and v >= 0)
            ):
                raise ValueError(f"RewardWeights: {name} must be a finite number >= 0, got {v!r}")

    def without_verifier(self) -> RewardWeights:
        """The weights to use when no verifier signal exists, as the router does it.

        :meth:`uniscale.router.reward.RewardConfig.combine` treats a missing part by rescaling
        the others so that they sum as the full weights do: (w1, w2, w3) becomes
        (w1·s, 0, w3·s) with s = (w1 + w2 + w3) / (w1 + w3).
        """
        rest = self.correct + self.cost
        if rest <= 0:
            raise ValueError("RewardWeights.without_verifier: only the verifier has weight")
        s = (self.correct + self.verifier + self.cost) / rest
        return RewardWeights(self.correct * s, 0.0, self.cost * s)

    def combine(
        self, correct: np.ndarray, verifier: np.ndarray, norm_cost: np.ndarray
    ) -> np.ndarray:
        """The reward array (float64), elementwise over same-shaped inputs."""
        return (
            self.correct * correct.astype(np.float64)
            + self.verifier * verifier.astype(np.float64)
            + self.cost * (1.0 - norm_cost.astype(np.float64))
        )


@dataclass(frozen=True)
class StepTable:
    """Every arm's outcome at every step of one stream.

    Attributes
    ----------
    stream : Stream
    reward : float64 (T, K)
    correct : bool (T, K)
    verifier : float64 (T, K)
        The verifier signal that entered the reward.
    agreement : float32 (T, K)
    costs : dict unit -> float64 (T, K) for "dollars", "tokens", "eflops"
    norm_cost : float64 (T, K)
        The normalised cost that entered the reward.
    """

    stream: Stream
    reward: np.ndarray
    correct: np.ndarray
    verifier: np.ndarray
    agreement: np.ndarray
    costs: dict[str, np.ndarray]
    norm_cost: np.ndarray

    @classmethod
    def build(
        cls,
        stream: Stream,
        outcomes: SampledOutcomes,
        costs: CostTables,
        weights: RewardWeights,
        cost_unit: str,
        normalizer,
        verifier: str,
    ) -> StepTable:
        """Gather the stream's steps and compute rewards.

        Parameters
        ----------
        normalizer : callable
            Maps costs (array) to [0, 1] (a fitted :class:`uniscale.cost.LogMinMaxNormalizer`).
        verifier : {"scores", "agreement", "none"}
            The verifier term: the trace's scores, the vote agreement, or 0.
        """
        rows = stream.trial_rows(outcomes.trials)
        q = stream.queries
        correct = outcomes.correct[rows, q]
        agreement = outcomes.agreement[rows, q]
        if verifier == "scores":
            if outcomes.verifier is None:
                raise ValueError("StepTable.build: verifier='scores' but the trace has no scores")
            ver = outcomes.verifier[rows, q].astype(np.float64)
        elif verifier == "agreement":
            ver = agreement.astype(np.float64)
        elif verifier == "none":
            ver = np.zeros(correct.shape)
        else:
            raise ValueError(
                f"StepTable.build: verifier must be 'scores', 'agreement' or "
                f"'none', got {verifier!r}"
            )
        c = {u: costs.unit(u)[rows, q] for u in COST_UNITS}
        norm = np.asarray(normalizer(c[cost_unit]), dtype=np.float64)
        reward = weights.combine(correct, ver, norm)
        return cls(stream, reward, correct, ver, agreement, c, norm)

    @property
    def n_steps(self) -> int:
        return int(self.reward.shape[0])

    @property
    def n_arms(self) -> int:
        return int(self.reward.shape[1])


@dataclass(frozen=True)
class PlayLog:
    """What one policy did on one stream.

    Attributes
    ----------
    name : str
    arms : int64 (T,)
        Chosen arm per step (for the cascade: the arm whose answer was kept).
    reward, dollars, tokens, eflops : float64 (T,)
    correct : bool (T,)
    """

    name: str
    arms: np.ndarray
    reward: np.ndarray
    correct: np.ndarray
    dollars: np.ndarray
    tokens: np.ndarray
    eflops: np.ndarray

    @classmethod
    def from_arms(cls, name: str, table: StepTable, arms: np.ndarray) -> PlayLog:
        """The log of playing ``arms`` (int, (T,)) on ``table``."""
        arms = np.asarray(arms, dtype=np.int64)
        if arms.shape != (table.n_steps,):
            raise ValueError(
                f"PlayLog.from_arms: arms has shape {arms.shape}, expected ({table.n_steps},)"
            )
        if arms.size and (arms.min() < 0 or arms.max() >= table.n_arms):
            raise IndexError(f"PlayLog.from_arms: arms must lie in [0, {table.n_arms})")
        t = np.arange(table.n_steps)
        return cls(
            name,
            arms,
            table.reward[t, arms],
            table.correct[t, arms],
            table.costs["dollars"][t, arms],
            table.costs["tokens"][t, arms],
            table.costs["eflops"][t, arms],
        )
