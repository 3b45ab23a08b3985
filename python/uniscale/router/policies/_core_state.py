"""What the policies on a compiled ridge core share: their parameters, select/update plumbing and
saved state.

The cores (``uniscale.LinUCB``, ``uniscale.DisjointLinUCB``) export a flat dict whose values are
numpy arrays or scalars; saved states keep the scalars in JSON and the arrays in an ``.npz`` file
opened with ``allow_pickle=False``.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from typing import Any

import numpy as np

from uniscale.router.policies.base import Policy, Selection, masked_argmax

logger = logging.getLogger(__name__)

__all__ = ["CorePolicy", "split_core_state", "join_core_state"]


def _check_float(value: Any, name: str, op: str, *, low: float = 0.0, strict: bool = False):
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: {name} must be a number, got {value!r}") from None
    if not np.isfinite(v) or v < low or (strict and v == low):
        rel = ">" if strict else ">="
        raise ValueError(f"{op}: {name} must be finite and {rel} {low}, got {value!r}")
    return v


class CorePolicy(Policy):
    """A policy whose model is a compiled ridge core with ``alpha``, ``lam`` and ``gamma``.

    Subclasses call :meth:`_init_core` from ``__init__`` and name their core class in
    :meth:`_core_class`; the UCB rule, updates, config and saved state are shared. Subclasses whose
    core has a shape besides ``d`` (the arm count) add it through :meth:`_shape_config`.
    """

    @staticmethod
    @abstractmethod
    def _core_class() -> Any:
        """The compiled core class (imported lazily: ``import uniscale`` stays light)."""

    def _init_core(self, alpha: float, lam: float, gamma: float, *shape: int) -> None:
        """Check the parameters and build ``self.core = core_class(*shape, d, ...)``."""
        op = type(self).__name__
        self._alpha = _check_float(alpha, "alpha", op)
        self.lam = _check_float(lam, "lam", op, strict=True)
        self.gamma = _check_float(gamma, "gamma", op, strict=True)
        if self.gamma > 1.0:
            raise ValueError(f"{op}: gamma must lie in (0, 1], got {gamma!r}")
        self.core = self._core_class()(
            *shape, self.d, alpha=self._alpha, lam=self.lam, gamma=self.gamma
        )

    @property
    def alpha(self) -> float:
        """Exploration weight; settable (e.g. to anneal it)."""
        return self._alpha

    @alpha.setter
    def alpha(self, value: float) -> None:
        self._alpha = _check_float(value, "alpha", f"{type(self).__name__}.alpha")
        self.core.alpha = self._alpha

    def _select(self, X, mask, penalty, rng) -> Selection:
        mean, width = self.core.scores(X)
        value = mean + self._alpha * width if self._alpha else np.array(mean, copy=True)
        if penalty is not None:
            value = value - penalty
        arms = masked_argmax(value, mask)
        rows = np.arange(X.shape[0])
        return Selection(arms, value[rows, arms], np.asarray(width)[rows, arms], np.ones(len(arms)))

    def _update(self, X, arms, rewards) -> None:
        self.core.update(arms, X, rewards)

    def _shape_config(self) -> dict[str, Any]:
        """Config entries for the core's shape, placed before ``alpha``; none by default."""
        return {}

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            **self._shape_config(),
            "alpha": self._alpha,
            "lam": self.lam,
            "gamma": self.gamma,
        }

    def state_dict(self):
        meta, arrays = super().state_dict()
        scalars, core_arrays = split_core_state(self.core.state_dict())
        meta["alpha"] = self._alpha
        meta["core"] = scalars
        arrays.update({f"core.{k}": v for k, v in core_arrays.items()})
        return meta, arrays

    def load_state_dict(self, meta, arrays) -> None:
        core_arrays = {k[5:]: v for k, v in arrays.items() if k.startswith("core.")}
        core = self._core_class().from_state_dict(join_core_state(meta["core"], core_arrays))
        if core.d != self.d:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: core has d = {core.d}, expected {self.d}"
            )
        super().load_state_dict(meta, arrays)
        self.core = core
        self._alpha = float(meta["alpha"])
        self.core.alpha = self._alpha


def split_core_state(sd: dict[str, Any]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Return (scalars, arrays) of a core ``state_dict``; 0-d arrays count as scalars."""
    scalars: dict[str, Any] = {}
    arrays: dict[str, np.ndarray] = {}
    for key, value in sd.items():
        if isinstance(value, np.ndarray) and value.ndim > 0:
            arrays[key] = value
        elif isinstance(value, np.ndarray):
            scalars[key] = value.item()
        elif isinstance(value, np.generic):
            scalars[key] = value.item()
        else:
            scalars[key] = value
    return scalars, arrays


def join_core_state(scalars: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """Inverse of :func:`split_core_state`."""
    sd: dict[str, Any] = dict(scalars)
    sd.update(arrays)
    return sd
