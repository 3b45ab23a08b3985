"""Boundary checks shared by every backend of :mod:`uniscale.aggregate`.

The checks read shapes and dtypes only, except where a documented value rule needs a look at the
data (weights, offsets, ``sum_log`` step scores); on a GPU those few checks cost one reduction and
one device-to-host copy of a flag. Every message names the operation, the argument, what was
expected and what came.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

__all__ = [
    "MAX_CANDIDATES",
    "MAX_ROWS",
    "PRM_MODES",
    "as_array",
    "is_torch_tensor",
    "dtype_name",
    "check_ids",
    "check_float",
    "check_companion",
    "check_rows_shape",
    "check_weights_values",
    "check_offsets",
    "check_sum_log_values",
]

#: Most candidates per row (N). The Triton vote kernel compares every pair of a row, so its work
#: grows as N²; 4096 keeps one row's comparisons in the tens of millions. Larger N raise.
MAX_CANDIDATES = 4096
#: Most rows (B), and most candidates of ``prm_reduce``: one Triton program grid axis holds them.
MAX_ROWS = 2**31 - 1
#: The reductions that :func:`uniscale.aggregate.prm_reduce` knows.
PRM_MODES = ("min", "last", "mean", "prod", "sum_log")

_INT_DTYPES = ("int32", "int64")
_FLOAT_DTYPES_NUMPY = ("float16", "float32", "float64")
_FLOAT_DTYPES_TORCH = ("float16", "bfloat16", "float32", "float64")


def is_torch_tensor(x: Any) -> bool:
    """True when ``x`` is a torch tensor; never imports torch (a tensor implies it is loaded)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def as_array(op: str, name: str, x: Any) -> Any:
    """Return ``x`` itself when it is a numpy array or torch tensor, else ``np.asarray(x)``."""
    if isinstance(x, np.ndarray) or is_torch_tensor(x):
        return x
    try:
        return np.asarray(x)
    except (ValueError, TypeError) as exc:
        raise TypeError(
            f"{op}: {name} must be a numpy.ndarray, a torch.Tensor or a rectangular sequence; "
            f"got {type(x).__name__} ({exc})"
        ) from exc


def dtype_name(x: Any) -> str:
    """The dtype's short name, the same spelling for numpy and torch ("int64", "float32")."""
    return str(x.dtype).removeprefix("torch.")


def _kind(x: Any) -> str:
    return "torch.Tensor" if is_torch_tensor(x) else "numpy.ndarray"


def check_ids(op: str, name: str, x: Any) -> None:
    """``x`` must hold int32 or int64 ids."""
    if dtype_name(x) not in _INT_DTYPES:
        raise TypeError(f"{op}: {name} must have dtype int32 or int64; got {dtype_name(x)}")


def check_float(op: str, name: str, x: Any) -> None:
    """``x`` must hold floats: float16/32/64, or bfloat16 for torch tensors."""
    allowed = _FLOAT_DTYPES_TORCH if is_torch_tensor(x) else _FLOAT_DTYPES_NUMPY
    if dtype_name(x) not in allowed:
        raise TypeError(f"{op}: {name} must have dtype {'/'.join(allowed)}; got {dtype_name(x)}")


def check_rows_shape(op: str, name: str, x: Any) -> None:
    """``x`` must be (B, N) or (N,) within the documented limits."""
    if x.ndim not in (1, 2):
        raise ValueError(
            f"{op}: {name} must have shape (B, N) or (N,); got {x.ndim} dimensions {tuple(x.shape)}"
        )
    n = int(x.shape[-1])
    if n > MAX_CANDIDATES:
        raise ValueError(
            f"{op}: {name} has {n} candidates per row; at most MAX_CANDIDATES={MAX_CANDIDATES} "
            "are supported"
        )
    if x.ndim == 2 and int(x.shape[0]) > MAX_ROWS:
        raise ValueError(
            f"{op}: {name} has {int(x.shape[0])} rows; at most MAX_ROWS={MAX_ROWS} are supported"
        )


def check_companion(op: str, ref_name: str, ref: Any, name: str, x: Any) -> None:
    """``x`` must be of the same kind, shape and device as ``ref``."""
    if is_torch_tensor(ref) != is_torch_tensor(x):
        raise TypeError(
            f"{op}: {name} is a {_kind(x)} but {ref_name} is a {_kind(ref)}; pass both of one kind"
        )
    if tuple(x.shape) != tuple(ref.shape):
        raise ValueError(
            f"{op}: {name} must have the shape of {ref_name} {tuple(ref.shape)}; "
            f"got {tuple(x.shape)}"
        )
    if is_torch_tensor(x) and x.device != ref.device:
        raise ValueError(
            f"{op}: {name} is on {x.device} but {ref_name} is on {ref.device}; expected one device"
        )


def _first_bad(op: str, name: str, bad: Any, x: Any, rule: str) -> None:
    """Raise naming the first flagged element of ``x`` when any element of ``bad`` is set."""
    if is_torch_tensor(bad):
        if not bool(bad.any()):
            return
        flat = int(bad.reshape(-1).nonzero()[0, 0])
        value = float(x.reshape(-1)[flat])
    else:
        if not bad.any():
            return
        flat = int(np.flatnonzero(bad)[0])
        value = float(x.reshape(-1)[flat])
    position = tuple(int(i) for i in np.unravel_index(flat, tuple(x.shape)))
    raise ValueError(f"{op}: {name} must be {rule}; got {value!r} at {position}")


def check_weights_values(op: str, name: str, w: Any) -> None:
    """Weights must be finite and >= 0, or NaN (a NaN weight marks a missing candidate)."""
    if is_torch_tensor(w):
        import torch

        bad = ~(torch.isnan(w) | (torch.isfinite(w) & (w >= 0)))
    else:
        with np.errstate(invalid="ignore"):
            bad = ~(np.isnan(w) | (np.isfinite(w) & (w >= 0)))
    _first_bad(op, name, bad, w, "finite and >= 0, or NaN for a missing candidate")


def check_sum_log_values(op: str, name: str, x: Any) -> None:
    """``sum_log`` takes logs: step scores must be >= 0 (0 gives -inf) or NaN."""
    bad = x < 0  # NaN compares False, so NaN passes and propagates
    _first_bad(op, name, bad, x, ">= 0 for mode='sum_log' (0 contributes log 0 = -inf)")


def check_offsets(op: str, offsets: Any, n_steps: int) -> np.ndarray:
    """Validate CSR ``offsets`` against ``n_steps`` step scores; return them as int64 on the host.

    Parameters
    ----------
    offsets : int32 or int64, shape (n_candidates + 1,)
    n_steps : the length of ``step_scores``.

    Returns
    -------
    np.ndarray, int64, shape (n_candidates + 1,)
    """
    if dtype_name(offsets) not in _INT_DTYPES:
        raise TypeError(f"{op}: offsets must have dtype int32 or int64; got {dtype_name(offsets)}")
    if offsets.ndim != 1 or int(offsets.shape[0]) < 1:
        raise ValueError(
            f"{op}: offsets must have shape (n_candidates + 1,) with at least one entry; "
            f"got {tuple(offsets.shape)}"
        )
    if int(offsets.shape[0]) - 1 > MAX_ROWS:
        raise ValueError(
            f"{op}: offsets describe {int(offsets.shape[0]) - 1} candidates; at most "
            f"MAX_ROWS={MAX_ROWS} are supported"
        )
    host = offsets.detach().cpu().numpy() if is_torch_tensor(offsets) else offsets
    host = np.array(host, dtype=np.int64)  # a private copy: backends may hand it to torch
    if host[0] != 0:
        raise ValueError(f"{op}: offsets[0] must be 0; got {int(host[0])}")
    steps = np.diff(host)
    if (steps < 0).any():
        i = int(np.flatnonzero(steps < 0)[0])
        raise ValueError(
            f"{op}: offsets must be non-decreasing; got offsets[{i}]={int(host[i])} > "
            f"offsets[{i + 1}]={int(host[i + 1])}"
        )
    if host[-1] != n_steps:
        raise ValueError(
            f"{op}: offsets[-1] must equal len(step_scores)={n_steps}; got {int(host[-1])}"
        )
    return host
