"""Disjoint LinUCB on the compiled core: one ridge regression per arm over request contexts.

For request context x = X[i] (d,) and arm a with its own A_a = lam I + sum_s gamma^(n-1-s) x_s x_s^T
and b_a = sum_s gamma^(n-1-s) r_s x_s over the n observations of arm a (s = n - 1 the newest; the
discount forgets old data but not the ridge prior, as for :class:`uniscale.bandit.LinUCB`),

    mean[i, a] = theta_a^T x,   width[i, a] = sqrt(x^T A_a^{-1} x),   ucb = mean + alpha * width.

Arms can be added and removed while the model runs; the others keep what they learned.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from uniscale import _core
from uniscale.bandit._checks import check_d, check_hyper, check_int
from uniscale.bandit._common import CoreModel

logger = logging.getLogger(__name__)

__all__ = ["DisjointLinUCB"]


class DisjointLinUCB(CoreModel):
    """Per-arm LinUCB over contexts X of shape (B, d), K = ``n_arms`` arms (up to thousands).

    Parameters
    ----------
    n_arms : int
        Number of arms K, >= 0.
    d : int
        Context dimension, 1 <= d <= 8192.
    alpha, lam, gamma, refresh_every, dtype
        As for :class:`uniscale.bandit.LinUCB` (including the bounds on X and rewards); the
        refresh counter is per arm.

    Notes
    -----
    ``update`` applies the observations of one arm in the order given and runs different arms in
    parallel for large batches. Thread safety as for :class:`uniscale.bandit.LinUCB`.
    """

    _KIND = "DisjointLinUCB"

    def __init__(
        self,
        n_arms: int,
        d: int,
        *,
        alpha: float = 1.0,
        lam: float = 1.0,
        gamma: float = 1.0,
        refresh_every: int = 4096,
        dtype: str = "float64",
    ) -> None:
        n_arms = check_int(self._KIND, "n_arms", n_arms, 0)
        d = check_d(self._KIND, d)
        alpha, lam, gamma, refresh_every, dtype = check_hyper(
            self._KIND, alpha, lam, gamma, refresh_every, dtype
        )
        self._m = _core.DisjointLinUCB(
            n_arms,
            d,
            alpha=alpha,
            lam=lam,
            gamma=gamma,
            refresh_every=refresh_every,
            dtype=dtype,
        )

    def __repr__(self) -> str:
        return (
            f"DisjointLinUCB(n_arms={self.n_arms}, d={self.d}, alpha={self.alpha}, "
            f"lam={self.lam}, gamma={self.gamma}, refresh_every={self.refresh_every}, "
            f"dtype={self.dtype!r}, n_updates={self.n_updates})"
        )

    # ------------------------------------------------------------------ decisions and learning

    def scores(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """Mean and width of every (request, arm) pair.

        Parameters
        ----------
        X : array_like, shape (B, d), real

        Returns
        -------
        mean, width : ndarray, shape (B, K), the model's dtype
        """
        return self._m.scores(X)

    def select(
        self, X: Any, mask: Any = None, penalty: Any = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Pick the arm with the highest ``mean + alpha * width - penalty`` per request.

        Parameters
        ----------
        X : array_like, shape (B, d), real
        mask : array_like of bool, shape (B, K), optional
            True where allowed; a row with no allowed arm raises ValueError.
        penalty : array_like, shape (K,) or (B, K), optional

        Returns
        -------
        arms : ndarray of int64, shape (B,)
            Ties go to the lowest index.
        score : ndarray of float64, shape (B,)
        """
        return self._m.select(X, mask, penalty)

    def update(self, arms: Any, X: Any, rewards: Any) -> None:
        """Learn from a batch: arms int (B,) in [0, K), X (B, d), rewards (B,).

        X and rewards must be finite with magnitude <= 1e100. A batch that would make some A_a
        numerically singular or its A_a^{-1} or theta_a non-finite raises ValueError and changes
        no arm.
        """
        self._m.update(arms, X, rewards)

    def refresh(self) -> None:
        """Recompute every A_a^{-1} from A_a by Cholesky."""
        failed = self._m.refresh()
        if failed:
            logger.warning(
                "DisjointLinUCB.refresh: %s arm(s) have an A that is not numerically positive "
                "definite; kept their Sherman-Morrison inverses",
                failed,
            )

    def add_arms(self, count: int) -> int:
        """Append ``count`` fresh arms (A = lam I, b = 0); returns the index of the first one."""
        return self._m.add_arms(count)

    def remove_arms(self, indices: Any) -> None:
        """Remove the given arms; the remaining arms keep their state and their order and are
        renumbered 0 .. K' - 1 (an arm after a removed one moves down).

        Parameters
        ----------
        indices : int or array_like of int, shape (n,)
            Distinct arm indices in [0, K).
        """
        self._m.remove_arms(indices)

    # ------------------------------------------------------------------ parameters

    @property
    def n_arms(self) -> int:
        return self._m.n_arms

    # ------------------------------------------------------------------ state

    @classmethod
    def _ctor_args(cls, sd: dict[str, Any]) -> tuple[int, ...]:
        return (sd["n_arms"], sd["d"])

    def _layout_state(self, sd: dict[str, Any]) -> dict[str, Any]:
        return {"n_arms": sd["counts"].shape[0]}

    def _restore(self, sd: dict[str, Any]) -> None:
        self._m.set_state(sd, sd["n_arms"])
