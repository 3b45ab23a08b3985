"""Features of a replay: query features phi(q), arm features psi(a), joint x = g(phi, psi).

Query features come from the router's featurizers (hashed n-grams by default, MiniLM sentence
embeddings on request); the joint map is the router's :class:`~uniscale.router.joint.
JointFeaturizer`. Everything is computed once per replay: the policies then read slices of one
(Q, K, d) array.

Arm features psi(a) (float64, in [0, 1]) describe what a user knows about an arm before running
it: one-hot model, method, prompt set and decoding (greedy, or the sampling temperature), the
number of samples n as log2(n) / log2(n_max), and the arm's expected cost (prices times the mean
recorded token counts, log-min-max normalised over the arms).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from uniscale.replay.arms import ReplayArm
from uniscale.replay.outcomes import TraceArrays
from uniscale.replay.trace import Trace

logger = logging.getLogger(__name__)

__all__ = ["FEATURIZERS", "arm_features", "expected_arm_costs", "joint_features", "query_features"]

FEATURIZERS = ("hashed", "minilm")


def query_features(texts: Sequence[str], featurizer: str = "hashed") -> np.ndarray:
    """phi for every query text: float64 (Q, p).

    Raises
    ------
    ValueError
        Unknown featurizer name or no texts.
    """
    if featurizer not in FEATURIZERS:
        raise ValueError(
            f"query_features: featurizer must be one of {FEATURIZERS}, got {featurizer!r}"
        )
    if len(texts) == 0:
        raise ValueError("query_features: texts must not be empty")
    if featurizer == "hashed":
        from uniscale.router.hashed import HashedFeaturizer

        return np.asarray(HashedFeaturizer().transform(list(texts)), dtype=np.float64)
    from uniscale.router.minilm import MiniLMFeaturizer

    return np.asarray(MiniLMFeaturizer().transform(list(texts)), dtype=np.float64)


def expected_arm_costs(
    trace: Trace, arrays: TraceArrays, arms: Sequence[ReplayArm], unit: str = "dollars"
) -> np.ndarray:
    """A priori mean cost of each arm (float64 (K,)): prices × mean recorded token counts.

    ``unit`` is ``"dollars"`` or ``"tokens"``; the mean is over queries and recorded samples, so
    this needs no sample draw and is what an operator can compute before routing.
    """
    if unit not in ("dollars", "tokens"):
        raise ValueError(f"expected_arm_costs: unit must be 'dollars' or 'tokens', got {unit!r}")
    out = np.empty(len(arms))
    for k, a in enumerate(arms):
        ci = arrays.config_index(a.config_id)
        cnt = arrays.count[:, ci]
        tok = arrays.tokens[ci].sum(axis=1) / np.maximum(cnt, 1)
        n_used = np.minimum(cnt, a.n)
        prompt = arrays.prompt_tokens[:, ci]
        if unit == "tokens":
            out[k] = float(np.mean(prompt + n_used * tok))
        else:
            m = trace.models[a.model]
            out[k] = float(
                np.mean(prompt * m.price_in_per_1k + n_used * tok * m.price_out_per_1k) / 1000.0
            )
    return out


def arm_features(arms: Sequence[ReplayArm], expected_cost: np.ndarray) -> np.ndarray:
    """psi for every arm: float64 (K, q), every entry in [0, 1].

    Parameters
    ----------
    arms : sequence of ReplayArm, length K
    expected_cost : float (K,)
        Positive a priori cost per arm (see :func:`expected_arm_costs`).
    """
    K = len(arms)
    cost = np.asarray(expected_cost, dtype=np.float64)
    if K == 0 or cost.shape != (K,) or not np.all(np.isfinite(cost)) or np.any(cost <= 0):
        raise ValueError(
            f"arm_features: need >= 1 arm and a positive finite expected_cost of "
            f"shape ({K},), got {cost.shape}"
        )

    def decoding(a: ReplayArm) -> str:
        return "greedy" if a.decoding == "greedy" else f"T={a.temperature}"

    cats = [
        sorted({a.model for a in arms}),
        sorted({a.method for a in arms}),
        sorted({a.prompt_set for a in arms}),
        sorted({decoding(a) for a in arms}),
    ]
    getters = [lambda a: a.model, lambda a: a.method, lambda a: a.prompt_set, decoding]
    blocks = []
    for values, get in zip(cats, getters, strict=True):
        if len(values) < 2:
            continue  # a constant one-hot adds nothing beside the bias
        onehot = np.zeros((K, len(values)))
        for k, a in enumerate(arms):
            onehot[k, values.index(get(a))] = 1.0
        blocks.append(onehot)
    n = np.array([a.n for a in arms], dtype=np.float64)
    top = max(float(np.log2(n.max())), 1.0)
    blocks.append((np.log2(n) / top)[:, None])
    lc = np.log10(cost)
    span = float(lc.max() - lc.min())
    blocks.append(((lc - lc.min()) / span if span > 0 else np.zeros(K))[:, None])
    return np.concatenate(blocks, axis=1)


def joint_features(
    phi: np.ndarray,
    psi: np.ndarray,
    *,
    target_dim: int = 128,
    projection: str = "pca",
    seed: int = 0,
    scale: bool = True,
) -> np.ndarray:
    """X = g(phi, psi): float64 (Q, K, d) through the router's JointFeaturizer.

    With ``scale`` the whole array is divided by its largest row norm, so every ||x|| <= 1.

    With ``projection="pca"`` the reduction is fitted on the query texts' features (no outcome
    is used), which is what an operator can do with a sample of past traffic.

    TODO(uniscale): in held-out mode the PCA still sees the texts of the held-out half (never
    their outcomes); fitting it per seed on the learning half would remove that transductive step.
    """
    from uniscale.router.joint import JointFeaturizer

    jf = JointFeaturizer(
        phi.shape[1], psi.shape[1], target_dim=target_dim, projection=projection, seed=seed
    )
    if projection == "pca":
        jf.fit(phi)
    X = jf.transform(phi, psi)
    if scale:
        # LinUCB's confidence widths are calibrated for ||x|| <= 1 against rewards in [0, 1];
        # one global factor keeps the linear model the same and makes alpha mean what it says.
        top = float(np.sqrt(np.max(np.einsum("qkd,qkd->qk", X, X))))
        if top > 0:
            X /= top
    return np.ascontiguousarray(X)
