"""Arm features psi(a): what the shared policy knows about an arm besides its index.

Layout of one row (float64):

* ``log10(params) - 9`` (0 for a 1B model), ``log2(n_samples) / 6``, ``log2(qp) / 6``,
  ``log2(cp) / 6``, ``log2(bs) / 6`` (absent parameters count as 1);
* a one-hot of the strategy kind over :data:`~uniscale.router.arms.STRATEGY_KINDS` that occur in
  the vocabulary;
* optionally a one-hot of the model name (``model_onehot=True``);
* optionally ``description_dim`` numbers: a seeded random projection of a text embedding of the
  arm's description (the model's description plus the arm id), normalised to unit length.

The scalings are fixed constants, not fitted, and the vocabularies are frozen at construction, so
that adding an arm later never changes the features of the arms already known. An arm whose kind
or model is not in the vocabulary gets zeros in that one-hot and is scored from its numeric
features.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from uniscale.router.arms import STRATEGY_KINDS, Arm, ArmSpace

logger = logging.getLogger(__name__)

__all__ = ["ArmFeaturizer"]

_N_NUMERIC = 5


class ArmFeaturizer:
    """Map arms to feature rows psi (K, q).

    Parameters
    ----------
    arm_space : ArmSpace
        Supplies model facts and the vocabularies (kinds, and models when ``model_onehot``).
    model_onehot : bool
        Add a one-hot of the model name.
    description_dim : int
        Width of the description embedding block (0 = none).
    text_featurizer : object with ``transform(list[str]) -> (B, p)``, optional
        Embeds descriptions; required when ``description_dim > 0``.
    seed : int
        Seed of the description projection.
    """

    def __init__(
        self,
        arm_space: ArmSpace,
        *,
        model_onehot: bool = False,
        description_dim: int = 0,
        text_featurizer: Any = None,
        seed: int = 0,
        kinds: Sequence[str] | None = None,
        models: Sequence[str] | None = None,
    ) -> None:
        op = "ArmFeaturizer"
        if not isinstance(arm_space, ArmSpace):
            raise TypeError(f"{op}: arm_space must be an ArmSpace, got {type(arm_space)!r}")
        if not isinstance(description_dim, int) or description_dim < 0:
            raise ValueError(f"{op}: description_dim must be an int >= 0, got {description_dim!r}")
        if description_dim and text_featurizer is None:
            raise ValueError(f"{op}: description_dim > 0 needs a text_featurizer")
        self.arm_space = arm_space
        if kinds is None:
            present = {a.kind for a in arm_space.arms}
            kinds = [k for k in STRATEGY_KINDS if k in present]
        self.kinds = tuple(kinds)
        self.model_onehot = bool(model_onehot)
        self.models = (
            tuple(models if models is not None else arm_space.models) if model_onehot else ()
        )
        self.description_dim = description_dim
        self.text_featurizer = text_featurizer
        self.seed = int(seed)
        self._proj: np.ndarray | None = None

    @property
    def dim(self) -> int:
        """q, the width of a row."""
        return _N_NUMERIC + len(self.kinds) + len(self.models) + self.description_dim

    def config(self) -> dict[str, Any]:
        return {
            "model_onehot": self.model_onehot,
            "description_dim": self.description_dim,
            "seed": self.seed,
            "kinds": list(self.kinds),
            "models": list(self.models),
        }

    def transform(self, arms: Sequence[Arm] | None = None) -> np.ndarray:
        """Features float64 (K, q) of ``arms`` (default: every arm of the space, in order)."""
        arms = self.arm_space.arms if arms is None else tuple(arms)
        out = np.zeros((len(arms), self.dim))
        kind_pos = {k: i for i, k in enumerate(self.kinds)}
        model_pos = {m: i for i, m in enumerate(self.models)}
        for i, a in enumerate(arms):
            if not isinstance(a, Arm):
                raise TypeError(f"ArmFeaturizer.transform: arms[{i}] is {type(a)!r}, expected Arm")
            spec = self.arm_space.models.get(a.model)
            if spec is None:
                raise ValueError(f"ArmFeaturizer.transform: arm {a.id!r} has undeclared model")
            p = a.params
            row = out[i]
            row[0] = math.log10(spec.params) - 9.0
            row[1] = math.log2(max(a.n_samples, 1)) / 6.0
            for j, key in enumerate(("qp", "cp", "bs")):
                row[2 + j] = math.log2(max(float(p.get(key, 1)), 1.0)) / 6.0
            if a.kind in kind_pos:
                row[_N_NUMERIC + kind_pos[a.kind]] = 1.0
            if a.model in model_pos:
                row[_N_NUMERIC + len(self.kinds) + model_pos[a.model]] = 1.0
        if self.description_dim and len(arms):
            texts = [f"{self.arm_space.models[a.model].description} {a.id}".strip() for a in arms]
            emb = np.asarray(self.text_featurizer.transform(texts), dtype=np.float64)
            if self._proj is None or self._proj.shape[1] != emb.shape[1]:
                rng = np.random.default_rng(self.seed)
                self._proj = rng.standard_normal((self.description_dim, emb.shape[1]))
            z = emb @ self._proj.T
            z /= np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)
            out[:, self.dim - self.description_dim :] = z
        if not np.all(np.isfinite(out)):
            raise ValueError("ArmFeaturizer.transform: arm features are not finite")
        return out
