"""numpy reference implementations of the two LinUCB models.

They define the semantics the compiled core must reproduce (the test oracle) and are the
benchmark's baseline, written the way one would in plain numpy: the widths as
``((X @ A_inv) * X).sum(-1)``, one Sherman-Morrison step per observation when gamma = 1,
Cholesky refreshes through ``numpy.linalg``. With gamma < 1 the prior is not discounted
(A <- gamma (A - lam I) + lam I + x x^T, see :mod:`uniscale.bandit.linucb`) and A^{-1} is
recomputed from A at the end of every update call. Same constructor, methods, errors and state
dicts as :class:`~uniscale.bandit.LinUCB` and :class:`~uniscale.bandit.DisjointLinUCB`; all
arithmetic is float64 (``dtype="float32"`` only casts the returned mean and width; scores that
overflow float32 in the compiled model are therefore finite here). Not thread-safe.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from uniscale.bandit._checks import (
    MAX_ABS,
    as_array,
    check_arms,
    check_bounded,
    check_choice,
    check_d,
    check_hyper,
    check_int,
    real_array,
)
from uniscale.bandit._common import ReferenceModel

logger = logging.getLogger(__name__)

__all__ = [
    "DisjointLinUCBReference",
    "LinUCBReference",
    "discounted_step",
    "sherman_morrison_step",
]

# Cap on the temporary (arms, B, d) product of the disjoint reference, in float64 elements.
_CHUNK_ELEMENTS = 1 << 23


def sherman_morrison_step(
    A: np.ndarray, A_inv: np.ndarray, b: np.ndarray, x: np.ndarray, r: float, gamma: float
) -> None:
    """In place: A <- gamma A + x x^T, b <- gamma b + r x, A_inv <- (gamma A + x x^T)^{-1}.

    Uses (gamma A)^{-1} = A^{-1} / gamma, then the rank-one Sherman-Morrison formula, written as
    A_inv / gamma - w w^T with w = (A_inv x / gamma) / sqrt(1 + x^T A_inv x / gamma).
    """
    u = A_inv @ x
    scale = (1.0 / gamma) / np.sqrt(1.0 + (x @ u) / gamma)
    w = u * scale
    A *= gamma
    A += np.outer(x, x)
    b *= gamma
    b += r * x
    A_inv *= 1.0 / gamma
    A_inv -= np.outer(w, w)


def discounted_step(
    A: np.ndarray, b: np.ndarray, x: np.ndarray, r: float, gamma: float, lam: float
) -> None:
    """In place: A <- gamma (A - lam I) + lam I + x x^T, b <- gamma b + r x.

    Only the data part of A is discounted, so A >= lam I. A^{-1} has no rank-one update under
    this step (the prior's share, (1 - gamma) lam I, has rank d); callers recompute it from A.
    """
    A *= gamma
    A += np.outer(x, x)
    A[np.diag_indices_from(A)] += (1.0 - gamma) * lam
    b *= gamma
    b += r * x


def _rejected(op: str, X: np.ndarray, lam: float) -> ValueError:
    top = float(np.abs(X).max()) if X.size else 0.0
    return ValueError(
        f"{op}: X is too large relative to lam: these observations would make A numerically "
        f"singular or A^{{-1}} or theta non-finite (max |X| = {top:g}, lam = {lam:g}); the model "
        "is unchanged"
    )


def _update_inputs(op: str, d: int, X: Any, rewards: Any) -> tuple[np.ndarray, np.ndarray]:
    X = real_array(op, "X", X, (None, d), f"(B, d) with d = {d}", finite=False)
    B = X.shape[0]
    r = real_array(op, "rewards", rewards, (B,), f"(B,) = ({B},)", finite=False)
    return X, r


def _check_update_values(op: str, X: np.ndarray, r: np.ndarray) -> None:
    real_array(op, "X", X, X.shape, "")
    real_array(op, "rewards", r, r.shape, "")
    check_bounded(op, "X", X)
    check_bounded(op, "rewards", r)


def _cholesky_inverse(A: np.ndarray) -> np.ndarray | None:
    try:
        L = np.linalg.cholesky(A)
    except np.linalg.LinAlgError:
        return None
    L_inv = np.linalg.solve(L, np.eye(A.shape[0]))
    return L_inv.T @ L_inv


def _select(
    op: str, mean: np.ndarray, width: np.ndarray, alpha: float, mask: Any, penalty: Any
) -> tuple[np.ndarray, np.ndarray]:
    B, K = mean.shape
    m, p = check_choice(op, mask, penalty, B, K)
    ucb = mean.astype(np.float64) + alpha * width.astype(np.float64)
    if p is not None:
        ucb = ucb - p
    if m is not None:
        ucb = np.where(m, ucb, -np.inf)
    if B == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float64)
    arms = np.argmax(ucb, axis=1)  # first maximum: ties go to the lowest index
    return arms.astype(np.int64), ucb[np.arange(B), arms]


def _model_X(op: str, value: Any, want: tuple[int | None, ...], layout: str, dtype: str):
    X = real_array(op, "X", value, want, layout)
    if dtype == "float32" and X.size:
        top = np.finfo(np.float32).max
        bad = np.abs(X) > top
        if bad.any():
            i = int(np.flatnonzero(bad.ravel())[0])
            raise ValueError(
                f"{op}: X is out of float32 range (the model's dtype): got {X.ravel()[i]:g} at "
                f"flat index {i}, expected |X| <= {top:g}"
            )
    return X


def _check_scores(
    op: str, X: np.ndarray, mean: np.ndarray, width: np.ndarray, lam: float, dtype: str
) -> None:
    """ValueError naming X and the bound when mean or width overflow ``dtype``."""
    top = np.finfo(dtype).max
    with np.errstate(invalid="ignore"):
        ok = (np.abs(mean) <= top).all() and (np.abs(width) <= top).all()
    if ok:
        return
    d = X.shape[-1]
    flat = np.abs(X.ravel())
    at = int(flat.argmax())
    bound = min(MAX_ABS, 0.5 * np.sqrt(float(top) / d) * np.sqrt(lam))
    msg = (
        f"{op}: X is too large in magnitude, the {dtype} scores overflow: max |X| = "
        f"{flat[at]:g} at flat index {at}"
    )
    if flat[at] > bound:
        msg += f"; with lam = {lam:g} and d = {d} keep |X| <= {bound:g}"
    else:
        msg += (
            f" is within |X| <= {bound:g} but theta = A^{{-1}} b is too large for it (rewards "
            "far larger than the features)"
        )
    raise ValueError(msg)


class LinUCBReference(ReferenceModel):
    """numpy LinUCB with shared parameters; see :class:`uniscale.bandit.LinUCB`."""

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
        op = f"{self._KIND}Reference"
        self.d = check_d(op, d)
        self._alpha, self.lam, self.gamma, self.refresh_every, self.dtype = check_hyper(
            op, alpha, lam, gamma, refresh_every, dtype
        )
        self.A = self.lam * np.eye(self.d)
        self.A_inv = np.eye(self.d) / self.lam
        self.b = np.zeros(self.d)
        self.theta = np.zeros(self.d)
        self.counts = np.zeros(0, np.int64)
        self.n_updates = 0
        self._since_refresh = 0

    @property
    def state_bytes(self) -> int:
        return sum(a.nbytes for a in (self.A, self.A_inv, self.b, self.theta, self.counts))

    def _X(self, op: str, X: Any) -> np.ndarray:
        layout = f"(B, K, d) with d = {self.d}"
        return _model_X(op, X, (None, None, self.d), layout, self.dtype)

    def scores(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """X (B, K, d) -> mean, width (B, K)."""
        op = f"{self._KIND}Reference.scores"
        return self._scores(op, self._X(op, X))

    def _scores(self, op: str, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with np.errstate(over="ignore", invalid="ignore"):  # reported below as a ValueError
            mean = X @ self.theta
            width = np.sqrt(np.maximum(((X @ self.A_inv) * X).sum(-1), 0.0))
        _check_scores(op, X, mean, width, self.lam, self.dtype)
        return mean.astype(self.dtype), width.astype(self.dtype)

    def select(
        self, X: Any, mask: Any = None, penalty: Any = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """X (B, K, d) -> arms int64 (B,), score float64 (B,)."""
        op = f"{self._KIND}Reference.select"
        X = self._X(op, X)
        check_choice(op, mask, penalty, X.shape[0], X.shape[1])
        mean, width = self._scores(op, X)
        return _select(op, mean, width, self.alpha, mask, penalty)

    def update(self, arms: Any, X: Any, rewards: Any) -> None:
        """arms int (B,) or None, X (B, d), rewards (B,)."""
        op = f"{self._KIND}Reference.update"
        X, r = _update_inputs(op, self.d, X, rewards)
        B = X.shape[0]
        a = None if arms is None else check_arms(op, arms, B, None)
        _check_update_values(op, X, r)
        if B == 0:
            return
        before = (self.A.copy(), self.A_inv.copy(), self.b.copy(), self.theta.copy())
        since = self._since_refresh
        ok = True
        with np.errstate(over="ignore", invalid="ignore"):  # non-finite results are undone below
            if self.gamma == 1.0:
                for x, rr in zip(X, r, strict=True):
                    sherman_morrison_step(self.A, self.A_inv, self.b, x, float(rr), 1.0)
                    self._since_refresh += 1
                    if self._since_refresh >= self.refresh_every:
                        self._refresh()
                        self._since_refresh = 0
            else:
                for x, rr in zip(X, r, strict=True):
                    discounted_step(self.A, self.b, x, float(rr), self.gamma, self.lam)
                self._since_refresh = 0
                ok = self._refresh()
            self.theta = self.A_inv @ self.b
        state = (self.A, self.A_inv, self.b, self.theta)
        if not (ok and all(np.isfinite(v).all() for v in state)):
            self.A, self.A_inv, self.b, self.theta = before
            self._since_refresh = since
            raise _rejected(op, X, self.lam)
        if a is not None:
            top = int(a.max()) + 1
            if top > self.counts.size:
                self.counts = np.concatenate(
                    [self.counts, np.zeros(top - self.counts.size, np.int64)]
                )
            np.add.at(self.counts, a, 1)
        self.n_updates += B

    def _refresh(self) -> bool:
        with np.errstate(over="ignore", invalid="ignore"):
            inv = _cholesky_inverse(self.A)
        if inv is None:
            return False
        self.A_inv = inv
        self.theta = self.A_inv @ self.b
        return True

    def refresh(self) -> None:
        """A^{-1} recomputed from A by Cholesky."""
        if not self._refresh():
            logger.warning("LinUCBReference.refresh: A is not numerically positive definite")

    @classmethod
    def _ctor_args(cls, sd: dict[str, Any]) -> tuple[int, ...]:
        return (sd["d"],)


class DisjointLinUCBReference(ReferenceModel):
    """numpy LinUCB with one (A_a, b_a) per arm; see :class:`uniscale.bandit.DisjointLinUCB`."""

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
        op = f"{self._KIND}Reference"
        K = check_int(op, "n_arms", n_arms, 0)
        self.d = check_d(op, d)
        self._alpha, self.lam, self.gamma, self.refresh_every, self.dtype = check_hyper(
            op, alpha, lam, gamma, refresh_every, dtype
        )
        self.A = np.zeros((0, self.d, self.d))
        self.A_inv = np.zeros((0, self.d, self.d))
        self.b = np.zeros((0, self.d))
        self.theta = np.zeros((0, self.d))
        self.counts = np.zeros(0, np.int64)
        self._since_refresh = np.zeros(0, np.int64)
        self.n_updates = 0
        if K:
            self.add_arms(K)

    @property
    def n_arms(self) -> int:
        return self.A.shape[0]

    @property
    def state_bytes(self) -> int:
        return sum(
            a.nbytes
            for a in (self.A, self.A_inv, self.b, self.theta, self.counts, self._since_refresh)
        )

    def _X(self, op: str, X: Any) -> np.ndarray:
        return _model_X(op, X, (None, self.d), f"(B, d) with d = {self.d}", self.dtype)

    def scores(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """X (B, d) -> mean, width (B, K)."""
        op = f"{self._KIND}Reference.scores"
        return self._scores(op, self._X(op, X))

    def _scores(self, op: str, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        B, K = X.shape[0], self.n_arms
        quad = np.empty((B, K))
        step = max(1, _CHUNK_ELEMENTS // max(1, B * self.d))
        with np.errstate(over="ignore", invalid="ignore"):  # reported below as a ValueError
            mean = X @ self.theta.T
            for a0 in range(0, K, step):
                Y = np.matmul(X, self.A_inv[a0 : a0 + step])  # (arms, B, d)
                quad[:, a0 : a0 + step] = (Y * X).sum(-1).T
            width = np.sqrt(np.maximum(quad, 0.0))
        _check_scores(op, X, mean, width, self.lam, self.dtype)
        return mean.astype(self.dtype), width.astype(self.dtype)

    def select(
        self, X: Any, mask: Any = None, penalty: Any = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """X (B, d) -> arms int64 (B,), score float64 (B,)."""
        op = f"{self._KIND}Reference.select"
        X = self._X(op, X)
        check_choice(op, mask, penalty, X.shape[0], self.n_arms)
        mean, width = self._scores(op, X)
        return _select(op, mean, width, self.alpha, mask, penalty)

    def update(self, arms: Any, X: Any, rewards: Any) -> None:
        """arms int (B,) in [0, K), X (B, d), rewards (B,)."""
        op = f"{self._KIND}Reference.update"
        X, r = _update_inputs(op, self.d, X, rewards)
        B = X.shape[0]
        if arms is None:
            raise TypeError(f"{op}: arms must be an integer array, got None")
        a = check_arms(op, arms, B, self.n_arms)
        _check_update_values(op, X, r)
        keys = ("A", "A_inv", "b", "theta", "counts", "_since_refresh")
        before = {key: getattr(self, key).copy() for key in keys}
        touched = sorted({int(arm) for arm in a})
        ok = True
        with np.errstate(over="ignore", invalid="ignore"):  # non-finite results are undone below
            for arm, x, rr in zip(a, X, r, strict=True):
                if self.gamma == 1.0:
                    sherman_morrison_step(
                        self.A[arm], self.A_inv[arm], self.b[arm], x, float(rr), 1.0
                    )
                    self._since_refresh[arm] += 1
                    if self._since_refresh[arm] >= self.refresh_every:
                        self._refresh(arm)
                        self._since_refresh[arm] = 0
                else:
                    discounted_step(self.A[arm], self.b[arm], x, float(rr), self.gamma, self.lam)
                self.counts[arm] += 1
            for arm in touched:
                if self.gamma != 1.0:
                    self._since_refresh[arm] = 0
                    ok = self._refresh(arm) and ok
                self.theta[arm] = self.A_inv[arm] @ self.b[arm]
        finite = all(
            np.isfinite(getattr(self, key)[touched]).all() for key in ("A", "A_inv", "b", "theta")
        )
        if not (ok and finite):
            for key, value in before.items():
                setattr(self, key, value)
            raise _rejected(op, X, self.lam)
        self.n_updates += B

    def _refresh(self, arm: int) -> bool:
        with np.errstate(over="ignore", invalid="ignore"):
            inv = _cholesky_inverse(self.A[arm])
        if inv is None:
            return False
        self.A_inv[arm] = inv
        self.theta[arm] = inv @ self.b[arm]
        return True

    def refresh(self) -> None:
        failed = sum(not self._refresh(a) for a in range(self.n_arms))
        if failed:
            logger.warning(
                "DisjointLinUCBReference.refresh: %s arm(s) not positive definite", failed
            )

    def add_arms(self, count: int) -> int:
        count = check_int(f"{self._KIND}Reference.add_arms", "count", count, 1)
        first, d = self.n_arms, self.d
        eye = np.broadcast_to(np.eye(d), (count, d, d))
        self.A = np.concatenate([self.A, self.lam * eye])
        self.A_inv = np.concatenate([self.A_inv, eye / self.lam])
        self.b = np.concatenate([self.b, np.zeros((count, d))])
        self.theta = np.concatenate([self.theta, np.zeros((count, d))])
        self.counts = np.concatenate([self.counts, np.zeros(count, np.int64)])
        self._since_refresh = np.concatenate([self._since_refresh, np.zeros(count, np.int64)])
        return first

    def remove_arms(self, indices: Any) -> None:
        op = f"{self._KIND}Reference.remove_arms"
        idx = as_array(op, "indices", indices, "iu", "an integer dtype")
        if idx.ndim > 1:
            raise ValueError(f"{op}: indices must be an int or a 1-D array, got shape {idx.shape}")
        idx = np.sort(idx.astype(np.int64).ravel())
        bad = (idx < 0) | (idx >= self.n_arms)
        if bad.any():
            raise IndexError(
                f"{op}: index {idx[bad][0]} is out of range, expected 0 <= index < {self.n_arms}"
            )
        if np.unique(idx).size != idx.size:
            raise ValueError(f"{op}: indices must not repeat")
        keep = np.setdiff1d(np.arange(self.n_arms), idx)
        for key in ("A", "A_inv", "b", "theta", "counts", "_since_refresh"):
            setattr(self, key, getattr(self, key)[keep].copy())

    @classmethod
    def _ctor_args(cls, sd: dict[str, Any]) -> tuple[int, ...]:
        # The arms come with the state's arrays.
        return (0, sd["d"])

    def _layout_state(self) -> dict[str, Any]:
        return {"n_arms": self.n_arms}
