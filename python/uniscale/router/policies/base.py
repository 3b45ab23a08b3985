"""The policy interface: one small, fast, array-in array-out contract for every arm chooser.

A policy sees a batch of B requests at once and chooses one arm per request. What it sees depends
on its :attr:`Policy.context`:

* ``"joint"`` policies (shared LinUCB, greedy, epsilon-greedy, linear Thompson sampling, and by
  default random and fixed) read joint features ``X`` of shape ``(B, K, d)``: one row
  ``x_{t,a} = g(phi(q_t), psi(a))`` per request and arm (see :mod:`uniscale.router.joint`).
  The arm count K is whatever the batch carries, so arms can come and go without touching the
  policy: what was learned lives in the weights over features.
* ``"query"`` policies (disjoint LinUCB) read query features ``X`` of shape ``(B, d)`` and keep one
  model per arm; they know their arm count (:attr:`Policy.n_arms`) and follow
  :meth:`Policy.add_arms` / :meth:`Policy.remove_arms`.

:meth:`Policy.select` returns a :class:`Selection` (a named tuple, so it unpacks as
``arms, scores, widths, propensities``). The first ``warmup`` decisions a policy makes (counted per
row, across calls) are uniform draws among the allowed arms; after that the policy's own rule runs.
:meth:`Policy.update` feeds one observed reward back; :meth:`Policy.update_batch` feeds many.

Every random draw comes from a ``numpy.random.Generator``: the one passed as ``rng``, else the
policy's own, seeded at construction. The same seed, inputs and call order give the same choices.

Invalid input raises ``ValueError``/``TypeError``/``IndexError`` before any state changes.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any, ClassVar, NamedTuple

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["Policy", "Selection", "CONTEXTS"]

#: The two kinds of input a policy can read.
CONTEXTS = ("joint", "query")


class Selection(NamedTuple):
    """What :meth:`Policy.select` returns for a batch of B requests.

    Attributes
    ----------
    arms : np.ndarray, int64, shape (B,)
        The chosen arm index per request (an index into the K arms of the batch).
    scores : np.ndarray, float64, shape (B,)
        The value the policy maximised for the chosen arm: for LinUCB ``mean + alpha * width -
        penalty``; for Thompson sampling the sampled value minus the penalty; for greedy and
        epsilon-greedy ``mean - penalty``; NaN during warm-up and for random and fixed choices.
    widths : np.ndarray, float64, shape (B,)
        The confidence width ``sqrt(x^T A^{-1} x)`` of the chosen arm where the policy has a
        linear model, NaN where it has none (random, fixed).
    propensities : np.ndarray, float64, shape (B,)
        The probability that this policy, in this state, chooses this arm for this request:
        ``1/K_allowed`` for uniform draws (warm-up, random), 1 for deterministic argmax (LinUCB,
        greedy, fixed), ``(1 - eps) * [arm is greedy] + eps / K_allowed`` for epsilon-greedy, a
        Monte-Carlo estimate for Thompson sampling when asked for, otherwise NaN (unknown).
    """

    arms: np.ndarray
    scores: np.ndarray
    widths: np.ndarray
    propensities: np.ndarray


class Policy(ABC):
    """Base class of the arm choosers.

    Parameters
    ----------
    d : int
        Feature dimension (the last axis of ``X``).
    warmup : int
        Number of decisions (rows) drawn uniformly among the allowed arms before the policy's own
        rule takes over.
    seed : int
        Seed of the policy's own ``numpy.random.Generator`` (used when ``select`` gets no ``rng``).

    Notes
    -----
    Subclasses implement :meth:`_select` (rows past warm-up only; inputs already validated) and
    :meth:`_update`. ``n_selected`` counts the decisions made, ``n_updates`` the rewards received.
    """

    #: Registry name, used by :func:`uniscale.router.policies.make_policy` and in saved states.
    name: ClassVar[str] = ""
    #: Which features the policy reads: ``"joint"`` (B, K, d) or ``"query"`` (B, d).
    context: str = "joint"

    def __init__(self, d: int, *, warmup: int = 0, seed: int = 0) -> None:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
            raise ValueError(f"{type(self).__name__}: d must be a positive int, got {d!r}")
        if isinstance(warmup, bool) or not isinstance(warmup, (int, np.integer)) or warmup < 0:
            raise ValueError(f"{type(self).__name__}: warmup must be an int >= 0, got {warmup!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"{type(self).__name__}: seed must be an int, got {seed!r}")
        self.d = int(d)
        self.warmup = int(warmup)
        self.rng = np.random.default_rng(int(seed))
        self.n_selected = 0
        self.n_updates = 0

    # ------------------------------------------------------------------ arms
    @property
    def n_arms(self) -> int | None:
        """The arm count for ``"query"`` policies; None when K comes with each batch."""
        return None

    def add_arms(self, count: int) -> int | None:
        """Make room for ``count`` new arms at the end; returns the first new index (or None).

        Joint-feature policies need nothing: a new arm is a new row of features.
        """
        _check_count(count, f"{type(self).__name__}.add_arms")
        return None

    def remove_arms(self, indices: Any) -> None:
        """Forget the arms at ``indices``; later arms move down, keeping what they learned."""
        _check_indices(indices, None, f"{type(self).__name__}.remove_arms")

    # ------------------------------------------------------------- selection
    def select(
        self,
        X: np.ndarray,
        mask: np.ndarray | None = None,
        penalty: np.ndarray | None = None,
        rng: np.random.Generator | None = None,
    ) -> Selection:
        """Choose one arm per request.

        Parameters
        ----------
        X : np.ndarray, float, shape (B, K, d) for joint policies or (B, d) for query policies
            Finite features.
        mask : np.ndarray, bool, shape (B, K) or (K,), optional
            True where an arm is allowed. Every row needs at least one allowed arm.
        penalty : np.ndarray, float, shape (B, K) or (K,), optional
            Finite values subtracted from each arm's score before the argmax (the budget price).
            Uniform draws (warm-up, random) ignore it.
        rng : numpy.random.Generator, optional
            Source of every random draw; the policy's own generator when omitted.

        Returns
        -------
        Selection
            ``(arms, scores, widths, propensities)``, each of shape (B,).
        """
        op = f"{type(self).__name__}.select"
        X, B, K = self._check_X(X, op)
        mask = _check_mask(mask, B, K, op)
        penalty = _check_penalty(penalty, B, K, op)
        if rng is None:
            rng = self.rng
        elif not isinstance(rng, np.random.Generator):
            raise TypeError(f"{op}: rng must be a numpy.random.Generator, got {type(rng)!r}")

        self._precheck(B, K, mask, op)
        n_warm = min(B, max(0, self.warmup - self.n_selected))
        if n_warm == 0:  # the common path: no copies
            sel = self._select(X, mask, penalty, rng)
            self.n_selected += B
            return sel
        arms = np.empty(B, dtype=np.int64)
        scores = np.full(B, np.nan)
        widths = np.full(B, np.nan)
        props = np.full(B, np.nan)
        if n_warm:
            arms[:n_warm], props[:n_warm] = uniform_allowed(mask, n_warm, K, rng)
        if n_warm < B:
            rest = slice(n_warm, B)
            sel = self._select(
                X[rest],
                None if mask is None else mask[rest],
                None if penalty is None else penalty[rest],
                rng,
            )
            arms[rest], scores[rest], widths[rest], props[rest] = sel
        self.n_selected += B
        return Selection(arms, scores, widths, props)

    def _precheck(self, B: int, K: int, mask: np.ndarray | None, op: str) -> None:  # noqa: B027
        """Policy-specific checks that must pass before any random draw (state untouched).

        The default checks nothing: most policies accept any allowed arm.
        """

    @abstractmethod
    def _select(
        self,
        X: np.ndarray,
        mask: np.ndarray | None,
        penalty: np.ndarray | None,
        rng: np.random.Generator,
    ) -> Selection:
        """The policy's own rule on validated rows: mask and penalty are (B, K) or None."""

    # ---------------------------------------------------------------- update
    def update(self, x: np.ndarray, arm: int, reward: float) -> None:
        """Learn from one outcome.

        Parameters
        ----------
        x : np.ndarray, float, shape (d,)
            The chosen arm's joint feature row (joint policies) or the query features (query
            policies), exactly as given to :meth:`select`.
        arm : int
            The chosen arm index.
        reward : float
            The finite observed reward.
        """
        op = f"{type(self).__name__}.update"
        x = np.asarray(x, dtype=np.float64)
        if x.shape != (self.d,):
            raise ValueError(f"{op}: x has shape {x.shape}, expected ({self.d},)")
        self.update_batch(x[None, :], np.asarray([arm]), np.asarray([reward], dtype=np.float64))

    def update_batch(self, X: np.ndarray, arms: np.ndarray, rewards: np.ndarray) -> None:
        """Learn from B outcomes at once: ``X`` (B, d), ``arms`` int (B,), ``rewards`` (B,)."""
        op = f"{type(self).__name__}.update_batch"
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.d:
            raise ValueError(f"{op}: X has shape {X.shape}, expected (B, {self.d})")
        B = X.shape[0]
        if not np.all(np.isfinite(X)):
            raise ValueError(f"{op}: X must be finite, got NaN or inf")
        arms = np.asarray(arms)
        if arms.shape != (B,) or not np.issubdtype(arms.dtype, np.integer):
            raise ValueError(
                f"{op}: arms must be an int array of shape ({B},), got {arms.dtype} {arms.shape}"
            )
        rewards = np.asarray(rewards, dtype=np.float64)
        if rewards.shape != (B,):
            raise ValueError(f"{op}: rewards has shape {rewards.shape}, expected ({B},)")
        if not np.all(np.isfinite(rewards)):
            raise ValueError(f"{op}: rewards must be finite, got {rewards}")
        n = self.n_arms
        if n is not None and B and (arms.min() < 0 or arms.max() >= n):
            raise IndexError(f"{op}: arms must lie in [0, {n}), got {arms}")
        if np.any(arms < 0):
            raise IndexError(f"{op}: arms must be >= 0, got {arms}")
        if B == 0:
            return
        self._update(X, arms.astype(np.int64), rewards)
        self.n_updates += B

    @abstractmethod
    def _update(self, X: np.ndarray, arms: np.ndarray, rewards: np.ndarray) -> None:
        """Learn from validated outcomes: X float64 (B, d), arms int64 (B,), rewards (B,)."""

    # ----------------------------------------------------------------- state
    def config(self) -> dict[str, Any]:
        """Constructor arguments (JSON-able) that rebuild an empty policy of the same kind."""
        return {"d": self.d, "warmup": self.warmup}

    def state_dict(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The full state as (JSON-able scalars, numpy arrays); no pickle needed."""
        meta = {
            "name": self.name,
            "config": self.config(),
            "n_selected": self.n_selected,
            "n_updates": self.n_updates,
            "rng": self.rng.bit_generator.state,
        }
        return meta, {}

    def load_state_dict(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`state_dict` returned (on a policy built from the same config)."""
        if meta.get("name") != self.name:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: state is for policy "
                f"{meta.get('name')!r}, expected {self.name!r}"
            )
        rng = np.random.default_rng()
        rng.bit_generator.state = meta["rng"]
        for key in ("n_selected", "n_updates"):
            v = meta[key]
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise ValueError(f"policy.{key} must be an int >= 0, got {v!r}")
        self.n_selected = int(meta["n_selected"])
        self.n_updates = int(meta["n_updates"])
        self.rng = rng

    # --------------------------------------------------------------- helpers
    def _check_X(self, X: Any, op: str) -> tuple[np.ndarray, int, int]:
        X = np.asarray(X, dtype=np.float64)
        if self.context == "joint":
            if X.ndim != 3 or X.shape[2] != self.d:
                raise ValueError(f"{op}: X has shape {X.shape}, expected (B, K, {self.d})")
            B, K = X.shape[0], X.shape[1]
        else:
            if X.ndim != 2 or X.shape[1] != self.d:
                raise ValueError(f"{op}: X has shape {X.shape}, expected (B, {self.d})")
            B, K = X.shape[0], int(self.n_arms or 0)
        if K < 1:
            raise ValueError(f"{op}: there are no arms to choose from (K = {K})")
        if not np.all(np.isfinite(X)):
            raise ValueError(f"{op}: X must be finite, got NaN or inf")
        return X, B, K


def uniform_allowed(
    mask: np.ndarray | None, B: int, K: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draw one allowed arm uniformly per row; returns (arms int64 (B,), propensity (B,)).

    One ``rng.random(B)`` draw per call, whatever the mask, so that the stream of random numbers
    does not depend on which arms were allowed.
    """
    u = rng.random(B)
    if mask is None:
        arms = np.minimum((u * K).astype(np.int64), K - 1)
        return arms, np.full(B, 1.0 / K)
    m = mask[:B]
    counts = m.sum(axis=1)
    # The j-th allowed arm of each row, j = floor(u * count).
    j = np.minimum((u * counts).astype(np.int64), counts - 1)
    cum = np.cumsum(m, axis=1)
    arms = np.argmax(cum > j[:, None], axis=1).astype(np.int64)
    return arms, 1.0 / counts


def masked_argmax(values: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """Row-wise argmax of ``values`` (B, K) over allowed arms; ties go to the lowest index."""
    if mask is not None:
        values = np.where(mask, values, -np.inf)
    return np.argmax(values, axis=1).astype(np.int64)


def _check_mask(mask: Any, B: int, K: int, op: str) -> np.ndarray | None:
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.dtype != np.bool_:
        raise TypeError(f"{op}: mask must be a bool array, got dtype {mask.dtype}")
    if mask.shape == (K,):
        mask = np.broadcast_to(mask, (B, K))
    if mask.shape != (B, K):
        raise ValueError(f"{op}: mask has shape {mask.shape}, expected ({B}, {K}) or ({K},)")
    empty = ~mask.any(axis=1)
    if np.any(empty):
        raise ValueError(f"{op}: mask allows no arm in row(s) {np.flatnonzero(empty).tolist()}")
    return mask


def _check_penalty(penalty: Any, B: int, K: int, op: str) -> np.ndarray | None:
    if penalty is None:
        return None
    penalty = np.asarray(penalty, dtype=np.float64)
    if penalty.shape == (K,):
        penalty = np.broadcast_to(penalty, (B, K))
    if penalty.shape != (B, K):
        raise ValueError(f"{op}: penalty has shape {penalty.shape}, expected ({B}, {K}) or ({K},)")
    if not np.all(np.isfinite(penalty)):
        raise ValueError(f"{op}: penalty must be finite, got NaN or inf")
    return penalty


def _check_count(count: Any, op: str) -> int:
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise ValueError(f"{op}: count must be a positive int, got {count!r}")
    return int(count)


def _check_indices(indices: Any, n: int | None, op: str) -> np.ndarray:
    idx = np.atleast_1d(np.asarray(indices))
    if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"{op}: indices must be ints, got {indices!r}")
    if np.any(idx < 0) or (n is not None and np.any(idx >= n)):
        raise IndexError(f"{op}: indices must lie in [0, {n}), got {idx.tolist()}")
    if len(np.unique(idx)) != len(idx):
        raise ValueError(f"{op}: indices must be distinct, got {idx.tolist()}")
    return idx.astype(np.int64)
