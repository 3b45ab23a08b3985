"""The joint feature map x = g(phi(q), psi(a)) read by the shared (joint-feature) policies.

Definition. With ``z = P (phi - mu)`` the query features reduced to r dimensions, ``z1 = [z, 1]``
(r + 1) and ``psi1 = [psi, 1]`` (q + 1)::

    x(q, a) = vec(z1 psi1^T)                 # d = (r + 1) * (q + 1), row-major
            = [z_0 psi1, z_1 psi1, ..., z_{r-1} psi1, psi1]
            = [z (x) psi, z, psi, 1]         # up to the order of the blocks

so one linear model ``theta^T x`` holds an arm term (how good an arm is in general, through psi),
a query term (how hard the query is, through z), their interactions (which arms suit which
queries) and a bias. Arms that share features share what was learned, and a new arm is scored
from its features at once.

Reduction ``P`` (r x p): either a seeded Gaussian random projection (entries N(0, 1), ``mu = 0``;
the default, needs no data) or PCA fitted on a warm-up sample of query features
(:meth:`JointFeaturizer.fit`): ``mu`` the sample mean, the rows of P the top-r principal
directions divided by the square root of their variance, so each z coordinate has unit variance
on the sample (whitening). Fit before the policy learns anything: the policy's weights are tied
to the basis. ``r`` is chosen so that d stays close to ``target_dim``:
``r = max(1, target_dim // (q + 1) - 1)``.

For query-context policies (disjoint LinUCB) :meth:`JointFeaturizer.transform_query` returns
``z1 = [z, 1]`` (B, r + 1).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["JointFeaturizer"]

_PROJECTIONS = ("random", "pca")


def _pos_int(value: Any, name: str, op: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{op}: {name} must be a positive int, got {value!r}")
    return int(value)


class JointFeaturizer:
    """Map query features phi (B, p) and arm features psi (K, q) to X (B, K, d).

    Parameters
    ----------
    query_dim : int
        p, the query feature dimension.
    arm_dim : int
        q, the arm feature dimension.
    proj_dim : int, optional
        r, the reduced query dimension; by default derived from ``target_dim``.
    target_dim : int
        Desired joint dimension d when ``proj_dim`` is not given (default 64).
    projection : {"random", "pca"}
        ``"random"``: ready at once; ``"pca"``: needs :meth:`fit` before use.
    seed : int
        Seed of the random projection.

    Attributes
    ----------
    d : int
        ``(r + 1) * (q + 1)``.
    P : np.ndarray, float64, shape (r, p)
    mu : np.ndarray, float64, shape (p,)
    """

    def __init__(
        self,
        query_dim: int,
        arm_dim: int,
        *,
        proj_dim: int | None = None,
        target_dim: int = 64,
        projection: str = "random",
        seed: int = 0,
    ) -> None:
        op = "JointFeaturizer"
        self.query_dim = _pos_int(query_dim, "query_dim", op)
        if isinstance(arm_dim, bool) or not isinstance(arm_dim, (int, np.integer)) or arm_dim < 0:
            raise ValueError(f"{op}: arm_dim must be an int >= 0, got {arm_dim!r}")
        self.arm_dim = int(arm_dim)
        if projection not in _PROJECTIONS:
            raise ValueError(f"{op}: projection must be one of {_PROJECTIONS}, got {projection!r}")
        if proj_dim is None:
            target_dim = _pos_int(target_dim, "target_dim", op)
            proj_dim = max(1, target_dim // (self.arm_dim + 1) - 1)
        self.proj_dim = _pos_int(proj_dim, "proj_dim", op)
        if projection == "pca" and self.proj_dim > self.query_dim:
            raise ValueError(
                f"{op}: proj_dim {self.proj_dim} exceeds query_dim {self.query_dim} for PCA"
            )
        self.projection = projection
        self.seed = int(seed)
        self.mu = np.zeros(self.query_dim)
        if projection == "random":
            rng = np.random.default_rng(self.seed)
            self.P = rng.standard_normal((self.proj_dim, self.query_dim))
            self.fitted = True
        else:
            self.P = np.zeros((self.proj_dim, self.query_dim))
            self.fitted = False

    @property
    def d(self) -> int:
        """Joint dimension ``(r + 1) * (q + 1)``."""
        return (self.proj_dim + 1) * (self.arm_dim + 1)

    @property
    def query_out_dim(self) -> int:
        """Width of :meth:`transform_query`: ``r + 1``."""
        return self.proj_dim + 1

    def fit(self, Phi: np.ndarray) -> JointFeaturizer:
        """Fit the PCA reduction on a sample of query features ``Phi`` float (N, p), N >= 2.

        Directions with (near) zero variance get zero rows rather than a blown-up scale.
        Returns self. Only for ``projection="pca"``.
        """
        op = "JointFeaturizer.fit"
        if self.projection != "pca":
            raise ValueError(
                f"{op}: only projection='pca' is fitted, this one is {self.projection!r}"
            )
        Phi = np.asarray(Phi, dtype=np.float64)
        if Phi.ndim != 2 or Phi.shape[1] != self.query_dim or Phi.shape[0] < 2:
            raise ValueError(
                f"{op}: Phi has shape {Phi.shape}, expected (N >= 2, {self.query_dim})"
            )
        if not np.all(np.isfinite(Phi)):
            raise ValueError(f"{op}: Phi must be finite, got NaN or inf")
        mu = Phi.mean(axis=0)
        _, s, vt = np.linalg.svd(Phi - mu, full_matrices=False)
        n = Phi.shape[0]
        P = np.zeros((self.proj_dim, self.query_dim))
        k = min(self.proj_dim, len(s))
        std = s[:k] / np.sqrt(max(n - 1, 1))
        ok = std > 1e-12 * max(float(std[0]) if k else 0.0, 1e-300)
        # Fix each direction's sign (largest |entry| positive) so fits are reproducible.
        signs = np.sign(vt[np.arange(k), np.argmax(np.abs(vt[:k]), axis=1)])
        signs[signs == 0] = 1.0
        P[:k][ok] = (vt[:k] * signs[:, None])[ok] / std[ok, None]
        self.mu, self.P, self.fitted = mu, P, True
        return self

    def _check_phi(self, Phi: Any, op: str) -> np.ndarray:
        if not self.fitted:
            raise ValueError(f"{op}: the PCA projection is not fitted; call fit() first")
        Phi = np.asarray(Phi, dtype=np.float64)
        if Phi.ndim != 2 or Phi.shape[1] != self.query_dim:
            raise ValueError(f"{op}: Phi has shape {Phi.shape}, expected (B, {self.query_dim})")
        if not np.all(np.isfinite(Phi)):
            raise ValueError(f"{op}: Phi must be finite, got NaN or inf")
        return Phi

    def transform_query(self, Phi: np.ndarray) -> np.ndarray:
        """``[P (phi - mu), 1]``: float64 (B, r + 1) from query features ``Phi`` (B, p)."""
        Phi = self._check_phi(Phi, "JointFeaturizer.transform_query")
        z1 = np.empty((Phi.shape[0], self.proj_dim + 1))
        np.matmul(Phi - self.mu if self.projection == "pca" else Phi, self.P.T, out=z1[:, :-1])
        z1[:, -1] = 1.0
        return z1

    def transform(self, Phi: np.ndarray, Psi: np.ndarray) -> np.ndarray:
        """Joint features X float64 (B, K, d) from ``Phi`` (B, p) and ``Psi`` (K, q)."""
        op = "JointFeaturizer.transform"
        z1 = self.transform_query(Phi)
        psi1 = self.arm_block(Psi, op)
        return self.combine(z1, psi1)

    def arm_block(self, Psi: Any, op: str = "JointFeaturizer.arm_block") -> np.ndarray:
        """``[psi, 1]`` float64 (K, q + 1) from arm features ``Psi`` (K, q)."""
        Psi = np.asarray(Psi, dtype=np.float64)
        if Psi.ndim != 2 or Psi.shape[1] != self.arm_dim or Psi.shape[0] < 1:
            raise ValueError(f"{op}: Psi has shape {Psi.shape}, expected (K >= 1, {self.arm_dim})")
        if not np.all(np.isfinite(Psi)):
            raise ValueError(f"{op}: Psi must be finite, got NaN or inf")
        psi1 = np.empty((Psi.shape[0], self.arm_dim + 1))
        psi1[:, :-1] = Psi
        psi1[:, -1] = 1.0
        return psi1

    @staticmethod
    def combine(z1: np.ndarray, psi1: np.ndarray) -> np.ndarray:
        """``X[b, k] = vec(z1[b] psi1[k]^T)``: (B, r+1) x (K, q+1) -> (B, K, (r+1)(q+1)).

        No validation: the fast path for callers that hold checked ``z1`` and ``psi1``.
        """
        return JointFeaturizer.combine_tiled(z1, JointFeaturizer.tile_arms(psi1, z1.shape[1]))

    @staticmethod
    def tile_arms(psi1: np.ndarray, n_query: int) -> np.ndarray:
        """``psi1`` (K, q+1) repeated ``n_query`` (= r+1) times along its row: (K, (r+1)(q+1)).

        Cache it per arm set; :meth:`combine_tiled` then costs one broadcast multiply.
        """
        return np.tile(psi1, (1, n_query))

    @staticmethod
    def combine_tiled(z1: np.ndarray, psi_tiled: np.ndarray) -> np.ndarray:
        """Same as :meth:`combine` from ``z1`` (B, r+1) and ``tile_arms(psi1, r+1)``.

        ``X[b, k, i*(q+1) + j] = z1[b, i] * psi1[k, j]``: each ``z1`` entry repeated q+1 times
        times the tiled arm rows (about twice as fast as a 4-D broadcast).
        """
        q1 = psi_tiled.shape[1] // z1.shape[1]
        return np.repeat(z1, q1, axis=1)[:, None, :] * psi_tiled[None, :, :]

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(JSON-able config, arrays) for saving."""
        meta = {
            "query_dim": self.query_dim,
            "arm_dim": self.arm_dim,
            "proj_dim": self.proj_dim,
            "projection": self.projection,
            "seed": self.seed,
            "fitted": self.fitted,
        }
        return meta, {"P": self.P.copy(), "mu": self.mu.copy()}

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> JointFeaturizer:
        """Rebuild from :meth:`state`."""
        jf = cls(
            meta["query_dim"],
            meta["arm_dim"],
            proj_dim=meta["proj_dim"],
            projection=meta["projection"],
            seed=meta["seed"],
        )
        P = np.asarray(arrays["P"], dtype=np.float64)
        mu = np.asarray(arrays["mu"], dtype=np.float64)
        if P.shape != jf.P.shape or mu.shape != jf.mu.shape:
            raise ValueError(
                f"JointFeaturizer.from_state: P {P.shape} / mu {mu.shape}, expected "
                f"{jf.P.shape} / {jf.mu.shape}"
            )
        jf.P, jf.mu, jf.fitted = P, mu, bool(meta["fitted"])
        return jf
