"""Log-scale min–max normalisation of costs into [0, 1].

Costs of arms span orders of magnitude (one greedy sample of a 0.5B model against 64 beams of a
32B model), so they are compared on a log10 scale: c ↦ (log10 c − log10 lo) / (log10 hi − log10 lo),
clipped to [0, 1]. ``lo`` and ``hi`` are the cheapest and dearest costs over an arm space.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["LogMinMaxNormalizer"]


def _check_bound(op: str, name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{op}: {name} must be a number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{op}: {name} must be finite and > 0, got {value!r}")
    return value


class LogMinMaxNormalizer:
    """Maps costs to [0, 1] on a log scale between ``lo`` (→ 0) and ``hi`` (→ 1).

    Parameters
    ----------
    lo, hi : float or None
        Cheapest and dearest cost, both > 0 with lo <= hi. Leave both None and call :meth:`fit`.
        When lo == hi every cost maps to 0.
    """

    def __init__(self, lo: float | None = None, hi: float | None = None) -> None:
        op = "LogMinMaxNormalizer"
        if (lo is None) != (hi is None):
            raise ValueError(f"{op}: give both lo and hi or neither, got lo={lo!r}, hi={hi!r}")
        self.lo: float | None = None
        self.hi: float | None = None
        if lo is not None and hi is not None:
            self._set(op, lo, hi)

    def _set(self, op: str, lo: object, hi: object) -> None:
        lo_f = _check_bound(op, "lo", lo)
        hi_f = _check_bound(op, "hi", hi)
        if lo_f > hi_f:
            raise ValueError(f"{op}: lo must be <= hi, got lo={lo_f!r}, hi={hi_f!r}")
        self.lo, self.hi = lo_f, hi_f

    def fit(self, costs: Iterable[float] | np.ndarray) -> LogMinMaxNormalizer:
        """Set ``lo``/``hi`` to the min/max of ``costs`` (1-D, every value finite and > 0).

        Returns ``self``. On bad input the normaliser keeps its previous bounds.
        """
        op = "LogMinMaxNormalizer.fit"
        arr = np.asarray(list(costs) if not isinstance(costs, np.ndarray) else costs)
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"{op}: costs must be a non-empty 1-D sequence, got shape {arr.shape}")
        if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_):
            raise TypeError(f"{op}: costs must be numbers, got dtype {arr.dtype}")
        arr = arr.astype(np.float64)
        if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
            bad = arr[~(np.isfinite(arr) & (arr > 0))][0]
            raise ValueError(f"{op}: every cost must be finite and > 0, got {bad!r}")
        self._set(op, float(arr.min()), float(arr.max()))
        return self

    @property
    def fitted(self) -> bool:
        return self.lo is not None

    def __call__(self, cost: float | np.ndarray) -> float | np.ndarray:
        """Normalised cost(s) in [0, 1]; values outside [lo, hi] are clipped.

        Parameters
        ----------
        cost : float or ndarray of float, any shape
            Costs > 0.

        Returns
        -------
        float, or ndarray float64 of ``cost``'s shape.
        """
        op = "LogMinMaxNormalizer"
        if self.lo is None or self.hi is None:
            raise ValueError(f"{op}: not fitted; give lo and hi or call fit(costs) first")
        arr = np.asarray(cost, dtype=np.float64)
        if np.any(~np.isfinite(arr)) or np.any(arr <= 0):
            raise ValueError(f"{op}: costs must be finite and > 0, got {cost!r}")
        if self.hi == self.lo:
            out = np.zeros_like(arr)
        else:
            span = math.log10(self.hi) - math.log10(self.lo)
            out = np.clip((np.log10(arr) - math.log10(self.lo)) / span, 0.0, 1.0)
        return float(out) if out.ndim == 0 else out

    def __repr__(self) -> str:
        return f"LogMinMaxNormalizer(lo={self.lo!r}, hi={self.hi!r})"
