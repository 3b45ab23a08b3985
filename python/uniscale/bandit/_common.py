"""State, persistence and parameter plumbing shared by the four LinUCB model classes.

The shared-parameter and per-arm models, compiled and numpy reference alike, differ only in the
arrays' shapes and in how a model is built and refilled from a state dict; this module holds
everything else once. Each class names its state kind in ``_KIND`` and fills in the hooks
``_ctor_args`` (positional constructor arguments from a checked state dict) and ``_restore``
(load the arrays into a freshly built model).
"""

from __future__ import annotations

import copy
import logging
import os
from typing import Any, Self

import numpy as np

from uniscale.bandit._checks import check_alpha
from uniscale.bandit.state import FORMAT_VERSION, check_state_dict, load_state, save_state

logger = logging.getLogger(__name__)

__all__: list[str] = []

# Arrays every model keeps; the reference models hold them as attributes of these names.
_ARRAY_KEYS = ("A", "A_inv", "b", "theta", "counts")


class _Persistent:
    """``from_state_dict``, ``save`` and ``load`` on top of a class's ``state_dict``."""

    _KIND: str

    def state_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def _ctor_args(cls, sd: dict[str, Any]) -> tuple[int, ...]:
        """Positional constructor arguments (sizes) for a model to be filled from ``sd``."""
        raise NotImplementedError

    def _restore(self, sd: dict[str, Any]) -> None:
        """Replace this fresh model's state by the checked state dict ``sd``."""
        raise NotImplementedError

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> Self:
        """Rebuild a model from ``state_dict()`` output (of this class or its counterpart).

        Raises
        ------
        uniscale.errors.StateFileError
            The state is incomplete, inconsistent or of another model kind.
        """
        sd = check_state_dict(state, cls._KIND)
        model = cls(
            *cls._ctor_args(sd),
            alpha=sd["alpha"],
            lam=sd["lam"],
            gamma=sd["gamma"],
            refresh_every=sd["refresh_every"],
            dtype=sd["dtype"],
        )
        model._restore(sd)
        return model

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the state to ``path`` atomically (npz + JSON metadata + SHA-256, no pickle)."""
        save_state(path, self.state_dict())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Self:
        """Read a model written by :meth:`save`; StateFileError if the file is damaged."""
        return cls.from_state_dict(load_state(path, cls._KIND))


class CoreModel(_Persistent):
    """Parameters, state and pickling of a model wrapping a compiled core object ``self._m``.

    Shapes below: (d,) etc. for the shared model, (K, d) etc. for the per-arm model.
    """

    _m: Any

    def _layout_state(self, sd: dict[str, Any]) -> dict[str, Any]:
        """Extra size keys of the state dict (after ``format_version``, ``kind`` and ``d``)."""
        return {}

    def __reduce__(self) -> tuple[Any, tuple[dict[str, Any]]]:
        # copy.deepcopy and pickle (e.g. to another process) go through the state dict; files
        # should use save/load, which never unpickle.
        return (type(self).from_state_dict, (self.state_dict(),))

    def state_dict(self) -> dict[str, Any]:
        """A consistent copy of the whole state (see :mod:`uniscale.bandit.state`)."""
        sd = self._m.state()
        sd.update(format_version=FORMAT_VERSION, kind=self._KIND, d=self.d)
        sd.update(self._layout_state(sd))
        return sd

    @property
    def d(self) -> int:
        return self._m.d

    @property
    def alpha(self) -> float:
        return self._m.alpha

    @alpha.setter
    def alpha(self, value: float) -> None:
        self._m.alpha = check_alpha(f"{self._KIND}.alpha", value)

    @property
    def lam(self) -> float:
        return self._m.lam

    @property
    def gamma(self) -> float:
        return self._m.gamma

    @property
    def refresh_every(self) -> int:
        return self._m.refresh_every

    @property
    def dtype(self) -> str:
        return self._m.dtype

    @property
    def n_updates(self) -> int:
        return self._m.n_updates

    @property
    def state_bytes(self) -> int:
        """Bytes of model state held by the core (padded float64 A, A^{-1}, b, theta, copies)."""
        return self._m.state_bytes

    @property
    def theta(self) -> np.ndarray:
        """float64 (d,) or (K, d): A^{-1} b."""
        return self._m.state()["theta"]

    @property
    def A(self) -> np.ndarray:
        """float64 (d, d) or (K, d, d): lam I plus the (discounted) sum of x x^T."""
        return self._m.state()["A"]

    @property
    def A_inv(self) -> np.ndarray:
        """float64 (d, d) or (K, d, d): A^{-1} as kept by Sherman-Morrison steps and refreshes."""
        return self._m.state()["A_inv"]

    @property
    def b(self) -> np.ndarray:
        """float64 (d,) or (K, d): the (discounted) sum of r x."""
        return self._m.state()["b"]

    @property
    def counts(self) -> np.ndarray:
        """int64: updates per arm; (K,) for the per-arm model, (1 + largest arm index seen,) for
        the shared model (indices are below 65536)."""
        return self._m.state()["counts"]


class ReferenceModel(_Persistent):
    """``alpha`` and state dicts of a numpy reference model holding its arrays as attributes."""

    d: int
    lam: float
    gamma: float
    refresh_every: int
    dtype: str
    n_updates: int
    _alpha: float
    _since_refresh: Any

    def _layout_state(self) -> dict[str, Any]:
        """Extra size keys of the state dict (after ``format_version``, ``kind`` and ``d``)."""
        return {}

    @property
    def alpha(self) -> float:
        return self._alpha

    @alpha.setter
    def alpha(self, value: float) -> None:
        self._alpha = check_alpha(f"{self._KIND}Reference.alpha", value)

    def state_dict(self) -> dict[str, Any]:
        sd: dict[str, Any] = {"format_version": FORMAT_VERSION, "kind": self._KIND, "d": self.d}
        sd.update(self._layout_state())
        sd.update(
            alpha=self.alpha,
            lam=self.lam,
            gamma=self.gamma,
            refresh_every=self.refresh_every,
            dtype=self.dtype,
            n_updates=self.n_updates,
            # An int for the shared model, an int64 (K,) array for the per-arm one.
            since_refresh=copy.copy(self._since_refresh),
        )
        sd.update((key, getattr(self, key).copy()) for key in _ARRAY_KEYS)
        return sd

    def _restore(self, sd: dict[str, Any]) -> None:
        for key in (*_ARRAY_KEYS, "n_updates"):
            setattr(self, key, sd[key])
        self._since_refresh = sd["since_refresh"]
