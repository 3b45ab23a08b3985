"""Split a compiled core's ``state_dict`` into JSON scalars and numpy arrays, and join them back.

The cores (``uniscale.LinUCB``, ``uniscale.DisjointLinUCB``) export a flat dict whose values are
numpy arrays or scalars; saved states keep the scalars in JSON and the arrays in an ``.npz`` file
opened with ``allow_pickle=False``.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["split_core_state", "join_core_state"]


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
