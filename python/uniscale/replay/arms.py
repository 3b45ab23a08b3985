"""Replay arms: a recorded configuration answered by the majority vote of n of its samples.

An arm is (model, method, prompt set, decoding, temperature, n). Its n values come from a grid
(1, 3, 5, 10, 20, 40, 80, ...) cut at the number of samples the configuration recorded for a
typical query (the median over queries); a greedy configuration has the single arm n = 1, since
its samples are repeats of one deterministic answer.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from uniscale.replay.trace import Trace

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_N_GRID",
    "ReplayArm",
    "build_arms",
    "routing_only",
    "tts_only",
]

DEFAULT_N_GRID = (1, 3, 5, 10, 20, 40, 80, 160)


@dataclass(frozen=True)
class ReplayArm:
    """One arm of a replay: configuration ``config_id`` with a majority vote over ``n`` samples."""

    config_id: str
    model: str
    method: str
    prompt_set: str
    decoding: str
    temperature: float | None
    n: int

    def __post_init__(self) -> None:
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 1:
            raise ValueError(f"ReplayArm: n must be an int >= 1, got {self.n!r}")

    @property
    def name(self) -> str:
        """A readable unique name, ``<config id>|n=<n>``."""
        return f"{self.config_id}|n={self.n}"


def build_arms(trace: Trace, n_grid: Sequence[int] = DEFAULT_N_GRID) -> tuple[ReplayArm, ...]:
    """Every (configuration, n) arm the trace supports.

    Parameters
    ----------
    trace : Trace
    n_grid : sequence of int
        Candidate sample counts (each >= 1). Kept for a configuration when ``n`` is at most the
        median number of samples it recorded per query.

    Returns
    -------
    tuple of ReplayArm
        In header order of the configurations, then increasing n.

    Raises
    ------
    ValueError
        An n in the grid below 1, or a trace without queries.
    """
    grid = sorted({int(n) for n in n_grid})
    if not grid or grid[0] < 1:
        raise ValueError(f"build_arms: n_grid must hold ints >= 1, got {list(n_grid)!r}")
    if not trace.queries:
        raise ValueError("build_arms: the trace has no queries")
    arms = []
    for cfg in trace.configs:
        counts = [q.outcomes[cfg.id].n_samples for q in trace.queries if cfg.id in q.outcomes]
        if not counts:
            logger.warning("build_arms: config %s has no outcomes; no arm", cfg.id)
            continue
        typical = int(np.median(counts))
        top = 1 if cfg.decoding == "greedy" else typical
        for n in grid:
            if n <= max(top, 1):
                arms.append(
                    ReplayArm(
                        cfg.id,
                        cfg.model,
                        cfg.method,
                        cfg.prompt_set,
                        cfg.decoding,
                        cfg.temperature,
                        n,
                    )
                )
    return tuple(arms)


def routing_only(arms: Sequence[ReplayArm]) -> np.ndarray:
    """Indices (int64) of the arms without test-time scaling: n = 1."""
    idx = np.asarray([i for i, a in enumerate(arms) if a.n == 1], dtype=np.int64)
    if idx.size == 0:
        raise ValueError("routing_only: no arm has n = 1")
    return idx


def tts_only(arms: Sequence[ReplayArm], model: str | None = None) -> tuple[np.ndarray, str]:
    """Indices (int64) of one model's arms (every method, prompt set and n) and that model.

    Parameters
    ----------
    model : str, optional
        Default: the model with the widest test-time-scaling range (largest n), then the most
        arms, then the first name.
    """
    models = [a.model for a in arms]
    if model is None:
        if not models:
            raise ValueError("tts_only: no arms")
        top_n = {m: max(a.n for a in arms if a.model == m) for m in set(models)}
        model = min(set(models), key=lambda m: (-top_n[m], -models.count(m), m))
    idx = np.asarray([i for i, a in enumerate(arms) if a.model == model], dtype=np.int64)
    if idx.size == 0:
        raise ValueError(f"tts_only: no arm of model {model!r}; models: {sorted(set(models))}")
    return idx, model
