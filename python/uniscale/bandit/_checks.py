"""Argument checks shared by the Python side of the bandits.

The compiled models check per-call arrays in C++ (cheaper for a single decision); these helpers
check constructor arguments for both families and every per-call argument of the numpy
references, with the same exception types and the same wording: the operation, the argument,
what was expected and what came.
"""

from __future__ import annotations

import logging
import numbers
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

DTYPES = ("float64", "float32")


# Largest feature dimension d: A and A^{-1} of one model take 2 * 8 * d^2 bytes (1 GiB at the
# bound) and a Cholesky refresh d^3 flops. The compiled core uses the same bound (kMaxD).
MAX_D = 8192

# Largest |x| and |r| an update accepts: x x^T and r x stay below 1e200 per observation, so A and
# b stay finite over any feasible number of updates. The compiled core uses the same bound.
MAX_ABS = 1e100


def check_int(op: str, name: str, value: Any, minimum: int, maximum: int | None = None) -> int:
    """Return ``value`` as an int, or raise TypeError/ValueError naming ``op`` and ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{op}: {name} must be an int, got {type(value).__name__}")
    if maximum is not None and not minimum <= value <= maximum:
        raise ValueError(f"{op}: {name} must be in [{minimum}, {maximum}], got {value}")
    if value < minimum:
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {value}")
    return int(value)


def check_d(op: str, d: Any) -> int:
    """The feature dimension as an int in [1, MAX_D]."""
    return check_int(op, "d", d, 1, MAX_D)


def check_bounded(op: str, name: str, a: np.ndarray) -> None:
    """ValueError naming the first entry of finite ``a`` with ``|v| > MAX_ABS``."""
    bad = np.abs(a) > MAX_ABS
    if bad.any():
        at = tuple(int(i) for i in np.argwhere(bad)[0])
        where = ", ".join(map(str, at))
        raise ValueError(
            f"{op}: {name}[{where}] = {a[at]:g} is too large in magnitude, expected "
            f"|{name}| <= {MAX_ABS:g} (larger values overflow A = lam I + sum x x^T or b)"
        )


def check_real(op: str, name: str, value: Any) -> float:
    """Return ``value`` as a float; TypeError for non-numbers, ValueError for NaN or inf."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{op}: {name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{op}: {name} must be finite, got {value}")
    return value


def check_alpha(op: str, alpha: Any) -> float:
    alpha = check_real(op, "alpha", alpha)
    if alpha < 0:
        raise ValueError(f"{op}: alpha must be >= 0, got {alpha}")
    return alpha


def check_hyper(
    op: str, alpha: Any, lam: Any, gamma: Any, refresh_every: Any, dtype: Any
) -> tuple[float, float, float, int, str]:
    """Validate the hyperparameters common to both models; returns them normalized."""
    alpha = check_alpha(op, alpha)
    lam = check_real(op, "lam", lam)
    if lam <= 0:
        raise ValueError(f"{op}: lam must be > 0, got {lam}")
    gamma = check_real(op, "gamma", gamma)
    if not 0 < gamma <= 1:
        raise ValueError(f"{op}: gamma must be in (0, 1], got {gamma}")
    refresh_every = check_int(op, "refresh_every", refresh_every, 1)
    if not isinstance(dtype, str):
        dtype = np.dtype(dtype).name if _is_dtype_like(dtype) else dtype
    if dtype not in DTYPES:
        raise ValueError(f"{op}: dtype must be 'float64' or 'float32', got {dtype!r}")
    return alpha, lam, gamma, refresh_every, dtype


def _is_dtype_like(value: Any) -> bool:
    try:
        np.dtype(value)
    except TypeError:
        return False
    return True


def _kind_ok(a: np.ndarray, kinds: str) -> bool:
    return a.dtype.kind in kinds


def as_array(op: str, name: str, value: Any, kinds: str, what: str) -> np.ndarray:
    """numpy view of ``value`` whose dtype kind is in ``kinds``; TypeError otherwise."""
    try:
        a = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{op}: {name} must be an array, got {type(value).__name__}") from exc
    if not _kind_ok(a, kinds):
        raise TypeError(f"{op}: {name} must have {what}, got {a.dtype}")
    return a


def check_shape(op: str, name: str, a: np.ndarray, want: tuple[int | None, ...], layout: str):
    """ValueError unless ``a`` has len(want) dims and matches every non-None entry."""
    ok = a.ndim == len(want) and all(
        w is None or s == w for s, w in zip(a.shape, want, strict=True)
    )
    if not ok:
        raise ValueError(f"{op}: {name} must have shape {layout}, got {a.shape}")


def real_array(
    op: str,
    name: str,
    value: Any,
    want: tuple[int | None, ...],
    layout: str,
    dtype: Any = np.float64,
    finite: bool = True,
) -> np.ndarray:
    """C-contiguous array of ``dtype`` from a real array-like with the expected shape."""
    a = as_array(op, name, value, "fiu", "a real (float or integer) dtype")
    check_shape(op, name, a, want, layout)
    a = np.ascontiguousarray(a, dtype=dtype)
    if finite and a.size and not np.isfinite(a).all():
        bad = int(np.flatnonzero(~np.isfinite(a.ravel()))[0])
        raise ValueError(f"{op}: {name} must be finite, got {a.ravel()[bad]} at flat index {bad}")
    return a


def check_choice(
    op: str, mask: Any, penalty: Any, B: int, K: int
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Validate ``mask`` (B, K) bool and ``penalty`` (K,) or (B, K) for a select call."""
    if B > 0 and K == 0:
        raise ValueError(f"{op}: there are no arms to choose from (K = 0)")
    m = None
    if mask is not None:
        m = as_array(op, "mask", mask, "b", "dtype bool")
        check_shape(op, "mask", m, (B, K), f"(B, K) = ({B}, {K})")
        empty = ~m.any(axis=1)
        if empty.any():
            row = int(np.flatnonzero(empty)[0])
            raise ValueError(
                f"{op}: mask row {row} allows no arm; every request needs at least one allowed arm"
            )
    p = None
    if penalty is not None:
        p = as_array(op, "penalty", penalty, "fiu", "a real (float or integer) dtype")
        if p.ndim == 1:
            check_shape(op, "penalty", p, (K,), f"(K,) = ({K},) or (B, K)")
        else:
            check_shape(op, "penalty", p, (B, K), f"(K,) or (B, K) = ({B}, {K})")
        p = real_array(op, "penalty", p, p.shape, "", dtype=np.float64)
    return m, p


# The shared model counts updates per arm index it has seen; the bound keeps a stray index from
# allocating much (65536 int64 counts are 512 KiB). The compiled core uses the same bound.
MAX_SHARED_ARMS = 1 << 16


def check_arms(op: str, arms: Any, B: int, n_arms: int | None) -> np.ndarray:
    """int64 (B,) arm indices in [0, n_arms) (n_arms None: [0, MAX_SHARED_ARMS)); IndexError
    otherwise."""
    a = as_array(op, "arms", arms, "iu", "an integer dtype")
    check_shape(op, "arms", a, (B,), f"(B,) = ({B},)")
    a = np.ascontiguousarray(a, dtype=np.int64)
    limit = MAX_SHARED_ARMS if n_arms is None else n_arms
    bad = (a < 0) | (a >= limit)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise IndexError(f"{op}: arms[{i}] = {a[i]} is out of range, expected 0 <= arm < {limit}")
    return a
