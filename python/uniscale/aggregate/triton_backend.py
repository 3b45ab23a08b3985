"""Glue between the public operations and the Triton kernels under ``uniscale.kernels``.

Nothing here imports torch or triton at module level: the kernels are imported on first use. In
an installed wheel the kernels live at ``uniscale.kernels``; in a source checkout run through
``PYTHONPATH=python`` the directory ``kernels/`` beside ``python/`` is registered under that name
so that both layouts behave the same.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from uniscale.aggregate.results import BestResult, VoteResult, WeightedVoteResult
from uniscale.errors import BackendUnavailableError

__all__ = [
    "interpreting",
    "unavailable_reason",
    "kernels_module",
    "majority_vote_triton",
    "weighted_vote_triton",
    "best_of_n_triton",
    "prm_reduce_triton",
]

logger = logging.getLogger(__name__)


def interpreting() -> bool:
    """True when Triton's interpreter is switched on (it must be before triton is imported)."""
    return os.environ.get("TRITON_INTERPRET", "0") == "1"


def unavailable_reason(device_type: str) -> str | None:
    """Why Triton cannot run on a tensor of ``device_type`` here, or None when it can."""
    if importlib.util.find_spec("triton") is None:
        return "the triton package is not installed"
    if device_type == "cuda":
        return None
    if device_type == "cpu" and interpreting():
        return None
    return (
        f"Triton kernels run on CUDA tensors, the input is on {device_type!r}; "
        "TRITON_INTERPRET=1 (set before triton is imported) runs them on CPU for testing"
    )


def _register_source_kernels() -> None:
    """Make ``kernels/`` of a source checkout importable as ``uniscale.kernels``."""
    import uniscale

    root = Path(uniscale.__file__).resolve().parents[2] / "kernels"
    init = root / "__init__.py"
    if not init.is_file():
        raise BackendUnavailableError(
            f"triton backend: uniscale.kernels is not installed and {root} does not exist"
        )
    spec = importlib.util.spec_from_file_location(
        "uniscale.kernels", init, submodule_search_locations=[str(root)]
    )
    if spec is None or spec.loader is None:  # pragma: no cover - a file that exists always loads
        raise BackendUnavailableError(f"triton backend: cannot load {init}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["uniscale.kernels"] = module
    spec.loader.exec_module(module)
    logger.debug("uniscale.kernels loaded from the source checkout %s", root)


def kernels_module(name: str) -> ModuleType:
    """Import ``uniscale.kernels.<name>`` (this imports torch and triton)."""
    try:
        return importlib.import_module(f"uniscale.kernels.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != "uniscale.kernels":
            raise
    _register_source_kernels()
    return importlib.import_module(f"uniscale.kernels.{name}")


def majority_vote_triton(answer_ids: Any, valid: Any = None) -> VoteResult:
    """Majority vote with :mod:`uniscale.kernels.vote` on validated (B, N) tensors."""
    import torch

    vote = kernels_module("vote").vote
    winner, total, share = vote(answer_ids, valid, None)
    return VoteResult(winner, total.to(torch.int64), share)


def weighted_vote_triton(answer_ids: Any, weights: Any) -> WeightedVoteResult:
    """Weighted vote with :mod:`uniscale.kernels.vote` on validated (B, N) tensors."""
    vote = kernels_module("vote").vote
    winner, total, share = vote(answer_ids, None, weights)
    return WeightedVoteResult(winner, total, share)


def best_of_n_triton(scores: Any, valid: Any = None) -> BestResult:
    """Best-of-N with :mod:`uniscale.kernels.best_of_n` on validated (B, N) tensors."""
    best_of_n = kernels_module("best_of_n").best_of_n
    index, score = best_of_n(scores, valid)
    return BestResult(index, score)


def prm_reduce_triton(step_scores: Any, offsets: np.ndarray, mode: str) -> Any:
    """PRM step reduction with :mod:`uniscale.kernels.prm_reduce`; offsets checked, on the host."""
    prm_reduce = kernels_module("prm_reduce").prm_reduce
    return prm_reduce(step_scores, offsets, mode)
