"""Linear Thompson sampling over the shared ridge model."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from uniscale.router.policies.base import Selection, masked_argmax
from uniscale.router.policies.linucb import LinUCBPolicy, _check_float

logger = logging.getLogger(__name__)

__all__ = ["LinearThompsonPolicy"]


class LinearThompsonPolicy(LinUCBPolicy):
    """Sample ``theta~ ~ N(theta, v^2 A^{-1})`` per request; choose ``argmax theta~^T x - penalty``.

    The posterior mean and covariance come from the shared ridge model kept by ``uniscale.LinUCB``
    (``theta`` and ``A_inv``). The Cholesky factor of ``A^{-1}`` is cached until the next update.

    Parameters
    ----------
    d : int
        Joint feature dimension.
    v : float
        Posterior scale (> 0); larger explores more.
    propensity_samples : int
        When > 0, the propensity of each chosen arm is estimated as the share of this many extra
        posterior draws whose argmax is the chosen arm (at least one over the count, so never 0).
        When 0 (default), propensities are NaN (unknown) and no extra draws are made.
    lam, gamma, warmup, seed
        As for :class:`LinUCBPolicy`.
    """

    name = "thompson"

    def __init__(
        self,
        d: int,
        *,
        v: float = 0.5,
        propensity_samples: int = 0,
        lam: float = 1.0,
        gamma: float = 1.0,
        warmup: int = 0,
        seed: int = 0,
    ) -> None:
        v_ = _check_float(v, "v", "LinearThompsonPolicy", strict=True)
        if (
            isinstance(propensity_samples, bool)
            or not isinstance(propensity_samples, (int, np.integer))
            or propensity_samples < 0
        ):
            raise ValueError(
                "LinearThompsonPolicy: propensity_samples must be an int >= 0, "
                f"got {propensity_samples!r}"
            )
        super().__init__(d, alpha=0.0, lam=lam, gamma=gamma, warmup=warmup, seed=seed)
        self.v = v_
        self.propensity_samples = int(propensity_samples)
        self._chol: np.ndarray | None = None
        self._chol_at = -1

    def _factor(self) -> np.ndarray:
        if self._chol is None or self._chol_at != self.n_updates:
            a_inv = np.asarray(self.core.A_inv, dtype=np.float64)
            # Symmetrize: the rank-1 updates leave round-off asymmetry that Cholesky dislikes.
            self._chol = np.linalg.cholesky(0.5 * (a_inv + a_inv.T))
            self._chol_at = self.n_updates
        return self._chol

    def _sample_values(self, X, penalty, rng, n: int) -> np.ndarray:
        """(n, B, K) sampled values ``theta~^T x - penalty`` for n independent draws per row."""
        B, K, d = X.shape
        L = self._factor()
        theta = np.asarray(self.core.theta, dtype=np.float64)
        z = rng.standard_normal((n, B, d))
        thetas = theta + self.v * z @ L.T  # (n, B, d)
        values = np.einsum("bkd,nbd->nbk", X, thetas)
        if penalty is not None:
            values -= penalty
        return values

    def _select(self, X, mask, penalty, rng) -> Selection:
        B = X.shape[0]
        values = self._sample_values(X, penalty, rng, 1)[0]
        arms = masked_argmax(values, mask)
        rows = np.arange(B)
        _, width = self.core.scores(X)
        props = np.full(B, np.nan)
        M = self.propensity_samples
        if M:
            extra = self._sample_values(X, penalty, rng, M)
            if mask is not None:
                extra = np.where(mask[None], extra, -np.inf)
            picks = np.argmax(extra, axis=2)  # (M, B)
            hits = (picks == arms[None, :]).sum(axis=0)
            props = np.maximum(hits, 1) / M
        return Selection(arms, values[rows, arms], np.asarray(width)[rows, arms], props)

    def _update(self, X, arms, rewards) -> None:
        super()._update(X, arms, rewards)
        self._chol = None

    def config(self) -> dict[str, Any]:
        cfg = super().config()
        cfg.pop("alpha")
        cfg["v"] = self.v
        cfg["propensity_samples"] = self.propensity_samples
        return cfg

    def load_state_dict(self, meta, arrays) -> None:
        super().load_state_dict(meta, arrays)
        self._chol = None
