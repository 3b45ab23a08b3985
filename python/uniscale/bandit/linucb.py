"""LinUCB with shared parameters over joint request-arm features, on the compiled core.

For request i and arm a with joint feature vector x = X[i, a] (d,), the model keeps one ridge
regression over all arms and scores

    mean = theta^T x,   width = sqrt(x^T A^{-1} x),   ucb = mean + alpha * width,

with theta = A^{-1} b. After observations (x_s, r_s), s = 0 .. n-1 (the last is the newest),

    A = lam I + sum_s gamma^(n-1-s) x_s x_s^T,   b = sum_s gamma^(n-1-s) r_s x_s.

The discount gamma forgets old data but never the ridge prior lam I, so A >= lam I and
||A^{-1}|| <= 1 / lam however long the model runs (one step is A <- gamma (A - lam I) + lam I +
x x^T, the regularized forgetting of D-LinUCB, Russac, Vernade and Cappe, NeurIPS 2019). The
exploration width of a feature direction that is no longer observed therefore grows back
towards sqrt(1 / lam), not without bound. With gamma = 1, A^{-1} is kept by Sherman-Morrison
steps and recomputed from A by Cholesky every ``refresh_every`` updates; with gamma < 1, the
prior's share of a step is not a rank-one change, so A^{-1} is recomputed from A by Cholesky at
the end of every ``update`` call (O(d^3) per call and arm).

Bounds: d <= ``MAX_D`` (8192), |x| and |r| <= ``MAX_ABS`` (1e100) in updates (larger values
would overflow A or b; they raise ValueError, as does an update that would leave A numerically
singular or A^{-1} or theta non-finite, which keeps the model unchanged; in float64 that
can happen once |x|^2 / lam exceeds about 1e16 along some direction), arm indices
< ``MAX_SHARED_ARMS`` (65536) for the per-arm ``counts``. The arithmetic lives in ``csrc/``
(see ``csrc/arm_store.hpp`` and ``csrc/scoring.hpp``); this class adds the Python conveniences:
hyperparameter checks, state dicts and files.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from uniscale import _core
from uniscale.bandit._checks import check_d, check_hyper
from uniscale.bandit._common import CoreModel

logger = logging.getLogger(__name__)

__all__ = ["LinUCB"]


class LinUCB(CoreModel):
    """Shared-parameter LinUCB (the paper's form) over joint features X of shape (B, K, d).

    Parameters
    ----------
    d : int
        Feature dimension, 1 <= d <= 8192 (A and A^{-1} take 2 * 8 * d^2 bytes).
    alpha : float
        Exploration weight, >= 0.
    lam : float
        Ridge prior, > 0: A starts as lam * I.
    gamma : float
        Discount in (0, 1]: every update does A <- gamma (A - lam I) + lam I + x x^T,
        b <- gamma b + r x (the prior is not discounted; see the module docstring).
    refresh_every : int
        With gamma = 1, A^{-1} is recomputed from A by Cholesky after this many updates (with
        gamma < 1 it is recomputed at the end of every ``update`` call).
    dtype : {"float64", "float32"}
        Precision of scoring. A, b, A^{-1} and every update stay float64; "float32" scores with a
        float32 copy of A^{-1} and theta (about twice as fast for large batches) and returns
        float32 mean and width, within a relative error of about 1e-5 of float64 (see the tests'
        tolerance table).

    Notes
    -----
    Safe to share between threads: ``scores``/``select`` see the state wholly before or wholly
    after a concurrent ``update``; the GIL is released during the arithmetic.
    """

    _KIND = "LinUCB"

    def __init__(
        self,
        d: int,
        *,
        alpha: float = 1.0,
        lam: float = 1.0,
        gamma: float = 1.0,
        refresh_every: int = 4096,
        dtype: str = "float64",
    ) -> None:
        d = check_d(self._KIND, d)
        alpha, lam, gamma, refresh_every, dtype = check_hyper(
            self._KIND, alpha, lam, gamma, refresh_every, dtype
        )
        self._m = _core.LinUCB(
            d, alpha=alpha, lam=lam, gamma=gamma, refresh_every=refresh_every, dtype=dtype
        )

    def __repr__(self) -> str:
        return (
            f"LinUCB(d={self.d}, alpha={self.alpha}, lam={self.lam}, gamma={self.gamma}, "
            f"refresh_every={self.refresh_every}, dtype={self.dtype!r}, "
            f"n_updates={self.n_updates})"
        )

    # ------------------------------------------------------------------ decisions and learning

    def scores(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """Mean and width of every (request, arm) pair.

        Parameters
        ----------
        X : array_like, shape (B, K, d), real
            Joint features. Any real dtype and memory layout (copied when needed).

        Returns
        -------
        mean, width : ndarray, shape (B, K), the model's dtype
            ``ucb = mean + alpha * width``.

        Raises
        ------
        ValueError
            X has NaN or inf, does not fit a float32 model's dtype, or is so large that the
            scores overflow (the message gives max |X| and the bound
            ``sqrt(lam * max(dtype) / d) / 2`` under which they cannot).
        """
        return self._m.scores(X)

    def select(
        self, X: Any, mask: Any = None, penalty: Any = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Pick the arm with the highest ``mean + alpha * width - penalty`` per request.

        Parameters
        ----------
        X : array_like, shape (B, K, d), real
        mask : array_like of bool, shape (B, K), optional
            True where the arm is allowed. A row with no allowed arm raises ValueError.
        penalty : array_like, shape (K,) or (B, K), optional
            Subtracted from the score (for example a cost price).

        Returns
        -------
        arms : ndarray of int64, shape (B,)
            Chosen arm per request; ties go to the lowest index.
        score : ndarray of float64, shape (B,)
            Its penalized UCB score.
        """
        return self._m.select(X, mask, penalty)

    def update(self, arms: Any, X: Any, rewards: Any) -> None:
        """Learn from a batch of observations, in the order given (one Sherman-Morrison step each).

        Parameters
        ----------
        arms : array_like of int, shape (B,), or None
            The arms that were chosen, in [0, 65536); only used for the per-arm ``counts``.
        X : array_like, shape (B, d), real
            Joint features of the chosen (request, arm) pairs, finite with |x| <= 1e100.
        rewards : array_like, shape (B,), real
            Finite, |r| <= 1e100.

        Raises
        ------
        IndexError
            An arm index is outside [0, 65536).
        ValueError
            Bad shape, NaN/inf, a value beyond 1e100, or observations that would make A
            numerically singular or A^{-1} or theta non-finite. The model is then unchanged.
        """
        self._m.update(arms, X, rewards)

    def refresh(self) -> None:
        """Recompute A^{-1} from A by Cholesky (also done every ``refresh_every`` updates)."""
        if not self._m.refresh():
            logger.warning(
                "LinUCB.refresh: A is not numerically positive definite; kept the "
                "Sherman-Morrison inverse (are the features far larger than sqrt(lam)?)"
            )

    # ------------------------------------------------------------------ state

    @classmethod
    def _ctor_args(cls, sd: dict[str, Any]) -> tuple[int, ...]:
        return (sd["d"],)

    def _restore(self, sd: dict[str, Any]) -> None:
        self._m.set_state(sd)
