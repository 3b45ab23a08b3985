"""A supervised k-NN router, the replay's stand-in for routers trained offline on labelled data.

It is given the full outcome vector (every arm's reward) of each query in its training part, as
an offline labelling effort would produce, and plays uniformly random arms meanwhile. Afterwards
it routes a query to the arm with the best mean reward over its k nearest training queries
(cosine similarity of query features) and learns nothing more.

In online mode the training part is the first ``train_fraction`` of the stream; in held-out mode
it is the whole learning part.
"""

from __future__ import annotations

import logging

import numpy as np

from uniscale.replay.steps import PlayLog, StepTable

logger = logging.getLogger(__name__)

__all__ = ["knn_router"]


def knn_router(
    table: StepTable,
    query_features: np.ndarray,
    *,
    k: int = 10,
    train_fraction: float = 0.2,
    seed: int = 0,
    name: str = "knn",
) -> PlayLog:
    """Play the k-NN router on one stream.

    Parameters
    ----------
    table : StepTable
    query_features : np.ndarray, float, shape (Q, d)
        Features of every query of the trace (rows need not be normalised).
    k : int
        Neighbours (>= 1; fewer when the training part is smaller).
    train_fraction : float
        Share of an online stream used for training, in (0, 1).
    seed : int
        Seed of the random arms played during training.

    Raises
    ------
    ValueError
        Bad ``k``, ``train_fraction`` or feature shape.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"knn_router: k must be an int >= 1, got {k!r}")
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"knn_router: train_fraction must lie in (0, 1), got {train_fraction!r}")
    phi = np.asarray(query_features, dtype=np.float64)
    st = table.stream
    if phi.ndim != 2 or phi.shape[0] <= int(st.queries.max()):
        raise ValueError(
            f"knn_router: query_features must be (Q, d) covering every query, got shape {phi.shape}"
        )
    T, K = table.n_steps, table.n_arms
    if st.evaluate.all():
        n_train = max(1, int(round(train_fraction * T)))
        train = np.zeros(T, dtype=bool)
        train[:n_train] = True
    else:
        train = ~st.evaluate
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xC0DE]))
    arms = np.empty(T, dtype=np.int64)
    arms[train] = rng.integers(0, K, size=int(train.sum()))
    rest = np.flatnonzero(~train)
    if rest.size:
        unit = phi / np.maximum(np.linalg.norm(phi, axis=1, keepdims=True), 1e-12)
        tq = st.queries[train]
        labels = table.reward[train]  # (N, K)
        sims = unit[st.queries[rest]] @ unit[tq].T  # (T_rest, N)
        kk = min(k, tq.size)
        near = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
        arms[rest] = np.argmax(labels[near].mean(axis=1), axis=1)
    return PlayLog.from_arms(name, table, arms)
