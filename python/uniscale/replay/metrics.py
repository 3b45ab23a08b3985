"""Replay metrics: per-seed figures, their mean and 95 % interval, and regret curves.

Every figure is computed per seed on the evaluated steps, then summarised over seeds as the mean
and a two-sided 95 % Student-t interval (mean ± t_{0.975, S-1} · sd / sqrt(S)). Regrets are paired
per seed: the policy's reward is subtracted from the oracle's (or the best fixed arm's) on the
same steps with the same sample draws.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from uniscale.replay.steps import PlayLog

logger = logging.getLogger(__name__)

__all__ = ["FIGURES", "Interval", "PolicySummary", "interval", "summarize"]

FIGURES = ("reward", "accuracy", "dollars", "tokens", "eflops", "regret_oracle", "regret_fixed")

# t_{0.975, df} for df = 1..30; beyond that the normal quantile with a 1/df correction.
_T975 = (
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042,
)


def _t975(df: int) -> float:
    if df <= 30:
        return _T975[df - 1]
    return 1.95996 + 2.4 / df


@dataclass(frozen=True)
class Interval:
    """Mean over seeds and its 95 % interval (lo == hi == mean with one seed; NaN if any NaN)."""

    mean: float
    lo: float
    hi: float

    def as_dict(self) -> dict[str, float | None]:
        return {
            k: (None if math.isnan(v) else v)
            for k, v in (("mean", self.mean), ("lo", self.lo), ("hi", self.hi))
        }


def interval(values: Sequence[float] | np.ndarray) -> Interval:
    """Mean and two-sided 95 % Student-t interval of per-seed values (1-D, non-empty)."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or v.size == 0:
        raise ValueError(f"interval: values must be a non-empty 1-D sequence, got {v.shape}")
    m = float(v.mean())
    if v.size == 1 or math.isnan(m):
        return Interval(m, m, m)
    half = _t975(v.size - 1) * float(v.std(ddof=1)) / math.sqrt(v.size)
    return Interval(m, m - half, m + half)


@dataclass(frozen=True)
class PolicySummary:
    """One policy over all seeds.

    Attributes
    ----------
    name : str
    figures : dict figure -> Interval
        ``reward``, ``accuracy`` (per step means), ``dollars``, ``tokens``, ``eflops`` (mean cost
        per query), ``regret_oracle``, ``regret_fixed`` (cumulative at the last step).
    per_seed : dict figure -> list of float
    curve_oracle, curve_fixed : float64 (T,) arrays
        Mean cumulative regret over seeds at every evaluated step.
    arm_share : dict arm index -> share of evaluated steps (over all seeds)
    """

    name: str
    figures: dict[str, Interval]
    per_seed: dict[str, list[float]]
    curve_oracle: np.ndarray
    curve_fixed: np.ndarray
    arm_share: dict[int, float]


def summarize(
    runs: Sequence[Mapping[str, PlayLog]],
    evaluate: Sequence[np.ndarray],
    oracle_name: str = "oracle",
    fixed_name: str = "best_fixed",
) -> dict[str, PolicySummary]:
    """Summaries of every policy over seeds.

    Parameters
    ----------
    runs : sequence (one per seed) of mapping policy name -> PlayLog
        Every seed must have the same policies, including ``oracle_name`` and ``fixed_name``.
    evaluate : sequence (one per seed) of bool (T,) arrays
        The evaluated steps of each seed's stream (same count per seed).

    Raises
    ------
    ValueError
        Seeds with different policies or evaluated step counts, a missing reference policy.
    """
    if not runs or len(runs) != len(evaluate):
        raise ValueError(
            f"summarize: need one evaluate mask per run, got {len(runs)} runs and "
            f"{len(evaluate)} masks"
        )
    names = list(runs[0])
    for r in runs:
        if list(r) != names:
            raise ValueError("summarize: every seed must have the same policies in the same order")
    for ref in (oracle_name, fixed_name):
        if ref not in names:
            raise ValueError(f"summarize: reference policy {ref!r} missing; have {names}")
    n_eval = {int(np.sum(e)) for e in evaluate}
    if len(n_eval) != 1:
        raise ValueError(f"summarize: seeds evaluate different step counts {sorted(n_eval)}")
    out = {}
    for name in names:
        per: dict[str, list[float]] = {f: [] for f in FIGURES}
        c_or, c_fx = [], []
        share: dict[int, float] = {}
        for r, ev in zip(runs, evaluate, strict=True):
            log, o, f = r[name], r[oracle_name], r[fixed_name]
            per["reward"].append(float(log.reward[ev].mean()))
            per["accuracy"].append(float(log.correct[ev].mean()))
            per["dollars"].append(float(log.dollars[ev].mean()))
            per["tokens"].append(float(log.tokens[ev].mean()))
            per["eflops"].append(float(log.eflops[ev].mean()))
            ro = np.cumsum(o.reward[ev] - log.reward[ev])
            rf = np.cumsum(f.reward[ev] - log.reward[ev])
            per["regret_oracle"].append(float(ro[-1]))
            per["regret_fixed"].append(float(rf[-1]))
            c_or.append(ro)
            c_fx.append(rf)
            arms, counts = np.unique(log.arms[ev], return_counts=True)
            for a, c in zip(arms.tolist(), counts.tolist(), strict=True):
                share[a] = share.get(a, 0.0) + c
        total = sum(share.values())
        out[name] = PolicySummary(
            name,
            {f: interval(v) for f, v in per.items()},
            per,
            np.mean(c_or, axis=0),
            np.mean(c_fx, axis=0),
            {a: c / total for a, c in sorted(share.items())},
        )
    return out
