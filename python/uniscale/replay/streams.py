"""Query streams of a replay: shuffled orders, several passes, and the held-out split.

A stream belongs to one seed. Step t shows query ``queries[t]`` whose outcomes come from trial
``trials[t]`` (a row of :class:`~uniscale.replay.outcomes.SampledOutcomes`, i.e. one (seed, pass)
draw of every arm), and counts in the metrics when ``evaluate[t]``.

- ``online``: ``passes`` passes over every query, each in a fresh random order with fresh sample
  draws; every step is evaluated.
- ``heldout``: the queries are split in two random halves; ``passes`` passes over the learning
  half, then one pass over the other half, which alone is evaluated.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["MODES", "Stream", "make_streams", "stream_trials"]

MODES = ("online", "heldout")


@dataclass(frozen=True)
class Stream:
    """One seed's stream.

    Attributes
    ----------
    seed : int
    queries : np.ndarray, int64, shape (T,)
    passes : np.ndarray, int64, shape (T,)
        The pass of each step (its trial is (seed, pass)).
    evaluate : np.ndarray, bool, shape (T,)
    """

    seed: int
    queries: np.ndarray
    passes: np.ndarray
    evaluate: np.ndarray

    @property
    def length(self) -> int:
        return int(self.queries.shape[0])

    def trial_rows(self, trials: np.ndarray) -> np.ndarray:
        """Row of each step's (seed, pass) in a ``trials`` table of shape (R, 2): (T,) int64."""
        lookup = {(int(s), int(p)): i for i, (s, p) in enumerate(trials.tolist())}
        try:
            rows = {p: lookup[(self.seed, int(p))] for p in np.unique(self.passes)}
        except KeyError as exc:
            raise KeyError(f"Stream.trial_rows: trial {exc.args[0]} was not sampled") from None
        return np.asarray([rows[p] for p in self.passes.tolist()], dtype=np.int64)


def make_streams(
    n_queries: int, seeds: Sequence[int], passes: int = 1, mode: str = "online"
) -> list[Stream]:
    """One stream per seed.

    Parameters
    ----------
    n_queries : int
        Q >= 1 (>= 2 in held-out mode).
    seeds : sequence of int
        Distinct non-negative seeds.
    passes : int
        Passes over the (learning) queries, >= 1.
    mode : {"online", "heldout"}

    Raises
    ------
    ValueError
        On any argument outside the ranges above.
    """
    if mode not in MODES:
        raise ValueError(f"make_streams: mode must be one of {MODES}, got {mode!r}")
    if isinstance(passes, bool) or not isinstance(passes, int) or passes < 1:
        raise ValueError(f"make_streams: passes must be an int >= 1, got {passes!r}")
    if n_queries < (2 if mode == "heldout" else 1):
        raise ValueError(f"make_streams: {mode} mode needs more queries, got {n_queries}")
    seeds = [int(s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise ValueError(f"make_streams: seeds must be distinct ints >= 0, got {seeds}")
    out = []
    for s in seeds:
        rng = np.random.default_rng(np.random.SeedSequence([s, 0x5EED]))
        if mode == "online":
            qs = [rng.permutation(n_queries) for _ in range(passes)]
            ps = [np.full(n_queries, p) for p in range(passes)]
            ev = np.ones(n_queries * passes, dtype=bool)
        else:
            split = rng.permutation(n_queries)
            learn, test = split[: n_queries // 2], split[n_queries // 2 :]
            qs = [rng.permutation(learn) for _ in range(passes)] + [rng.permutation(test)]
            ps = [np.full(len(learn), p) for p in range(passes)] + [np.full(len(test), passes)]
            ev = np.concatenate([np.zeros(len(learn) * passes, bool), np.ones(len(test), bool)])
        out.append(
            Stream(s, np.concatenate(qs).astype(np.int64), np.concatenate(ps).astype(np.int64), ev)
        )
    return out


def stream_trials(streams: Sequence[Stream]) -> list[tuple[int, int]]:
    """Every (seed, pass) the streams need, in a stable order."""
    seen: dict[tuple[int, int], None] = {}
    for st in streams:
        for p in np.unique(st.passes).tolist():
            seen[(st.seed, int(p))] = None
    return list(seen)
