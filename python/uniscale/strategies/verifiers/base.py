"""The verifier interface: score full or partial solutions step by step.

A verifier receives a question and candidate solutions (each a text, split into steps at a
delimiter, or a list of steps already split) and returns one score per step in CSR form: the scores
of solution ``i`` are ``step_scores[offsets[i]:offsets[i + 1]]``. A path score is the reduction of
its step scores with :func:`uniscale.aggregate.prm_reduce` (``"last"``, ``"min"``, ``"mean"``,
``"prod"`` or ``"sum_log"``).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from uniscale.cost import CostCounts, ModelSpec

logger = logging.getLogger(__name__)

__all__ = ["REDUCE_MODES", "StepScores", "Verifier", "split_steps"]

REDUCE_MODES = ("last", "min", "mean", "prod", "sum_log")

Solution = str | Sequence[str]


def split_steps(text: str, delimiter: str = "\n\n") -> list[str]:
    """Split a solution into its non-empty steps (stripped) at ``delimiter``."""
    if not isinstance(text, str):
        raise TypeError(f"split_steps: text must be a str, got {type(text).__name__}")
    if not delimiter:
        raise ValueError("split_steps: delimiter must be a non-empty str, got ''")
    return [part.strip() for part in text.split(delimiter) if part.strip()]


@dataclass(frozen=True)
class StepScores:
    """Per-step scores of n solutions in CSR form, and what computing them cost.

    Unpacks as ``step_scores, offsets = verifier_output``.

    Attributes
    ----------
    step_scores : ndarray, float64, shape (S,)
        Scores of every step of every solution, solution by solution.
    offsets : ndarray, int64, shape (n + 1,)
        ``offsets[0] == 0``, non-decreasing, ``offsets[-1] == S``.
    counts : CostCounts
        Work the verifier did (empty when the scores came for free).
    """

    step_scores: np.ndarray
    offsets: np.ndarray
    counts: CostCounts = field(default_factory=CostCounts)

    def __iter__(self) -> Iterator[np.ndarray]:
        yield self.step_scores
        yield self.offsets

    @property
    def n(self) -> int:
        return int(self.offsets.shape[0] - 1)

    def steps_of(self, i: int) -> np.ndarray:
        """Step scores of solution ``i``, float64 (n_steps_i,)."""
        return self.step_scores[self.offsets[i] : self.offsets[i + 1]]

    def path_scores(self, mode: str = "last") -> np.ndarray:
        """One score per solution, float64 (n,), via ``aggregate.prm_reduce``; NaN for none."""
        if mode not in REDUCE_MODES:
            raise ValueError(
                f"StepScores.path_scores: mode must be one of {REDUCE_MODES}, got {mode!r}"
            )
        from uniscale.aggregate import prm_reduce

        if self.n == 0:
            return np.zeros(0, dtype=np.float64)
        return np.asarray(prm_reduce(self.step_scores, self.offsets, mode), dtype=np.float64)

    @classmethod
    def from_lists(
        cls, per_solution: Sequence[Sequence[float]], counts: CostCounts | None = None
    ) -> StepScores:
        """Build from one list of step scores per solution."""
        lengths = np.array([len(s) for s in per_solution], dtype=np.int64)
        offsets = np.zeros(len(per_solution) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        flat = np.array([v for s in per_solution for v in s], dtype=np.float64)
        return cls(flat, offsets, counts if counts is not None else CostCounts())


class Verifier(ABC):
    """Scores solutions step by step.

    Attributes
    ----------
    name : str
    max_score : float
        v_sup, the largest score one step can get (used by beam search's early exit).
    spec : ModelSpec or None
        The verifier model, for the eFLOPs and dollar cost of its work; None when it has no model
        of its own (its work, if any, is recorded on the policy model).
    delimiter : str
        Where a solution given as one text is split into steps.
    uses_logprobs : bool
        Whether :meth:`score` reads the policy's generation log-probabilities (strategies then
        ask the engine for them).
    """

    name: str = "verifier"
    uses_logprobs: bool = False
    max_score: float = 1.0
    spec: ModelSpec | None = None
    delimiter: str = "\n\n"

    @abstractmethod
    async def score(
        self,
        question: str,
        solutions: Sequence[Solution],
        *,
        logprobs: Sequence[Sequence[Sequence[float]]] | None = None,
    ) -> StepScores:
        """Score every step of every solution.

        Parameters
        ----------
        question : str
        solutions : sequence of (str or sequence of str), length n
            Full or partial solutions: a text (split at ``delimiter``) or its steps.
        logprobs : optional, shape (n, n_steps_i, n_tokens_ij)
            Token log-probabilities the policy model gave each step when it generated it. Only
            verifiers that read the policy's own confidence use them; others ignore them.

        Returns
        -------
        StepScores
        """

    def _steps(self, op: str, solutions: Sequence[Solution]) -> list[list[str]]:
        if isinstance(solutions, str):
            raise TypeError(f"{op}: solutions must be a sequence of solutions, got one str")
        out: list[list[str]] = []
        for i, sol in enumerate(solutions):
            if isinstance(sol, str):
                out.append(split_steps(sol, self.delimiter))
            elif isinstance(sol, Sequence) and all(isinstance(s, str) for s in sol):
                out.append([s for s in sol])
            else:
                raise TypeError(
                    f"{op}: solutions[{i}] must be a str or a sequence of str, "
                    f"got {type(sol).__name__}"
                )
        return out

    async def path_scores(
        self,
        question: str,
        solutions: Sequence[Solution],
        *,
        mode: str = "last",
        logprobs: Sequence[Sequence[Sequence[float]]] | None = None,
    ) -> tuple[np.ndarray, StepScores]:
        """Score and reduce: (float64 (n,) path scores, the step scores)."""
        scores = await self.score(question, solutions, logprobs=logprobs)
        return scores.path_scores(mode), scores

    async def aclose(self) -> None:  # noqa: B027 - verifiers without resources need no override
        """Release clients or models the verifier holds (nothing by default)."""
