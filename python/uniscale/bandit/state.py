"""State dictionaries of the bandits and their file format.

A state dict holds plain numpy arrays and scalars, the same for a compiled model and its numpy
reference, so either can restore the other's state:

=================  ==================================  ========================================
key                LinUCB                              DisjointLinUCB
=================  ==================================  ========================================
format_version     int (``FORMAT_VERSION``)            same
kind               ``"LinUCB"``                        ``"DisjointLinUCB"``
d, n_arms          d (int)                             d, n_arms = K (int)
alpha, lam, gamma  float                               float
refresh_every      int                                 int
dtype              ``"float64"`` or ``"float32"``      same
n_updates          int, observations so far            same
A, A_inv           float64 (d, d)                      float64 (K, d, d)
b, theta           float64 (d,)                        float64 (K, d)
counts             int64 (n,), per arm index, n <=     int64 (K,)
                   65536
since_refresh      int, updates since the last         int64 (K,), per arm
                   Cholesky refresh
=================  ==================================  ========================================

``check_state_dict`` also checks that the numbers make a model: A symmetric (within 1e-10 of
its largest entry) and positive definite (its Cholesky factorization succeeds), and A_inv
consistent with A: max |A_inv A v - v| / max |v| <= 1e-6 * max(1, kappa) for two fixed random
probes v (O(d^2) per arm, where forming A_inv A would cost d^3), with kappa = (max_i L_ii /
min_i L_ii)^2 from the Cholesky factor L of A, a cheap lower estimate of A's condition number
(the Sherman-Morrison steps between refreshes lose accuracy in proportion to it).

On disk (``save_state`` / ``load_state``) a state is one ``.npz`` archive, read back with
``allow_pickle=False``: every array above as a member, and a member ``__meta__`` holding UTF-8
JSON with the scalars and a SHA-256 over the arrays (name, dtype, shape, bytes) and the scalars.
The file is written to a temporary file in the same folder, flushed and fsync'ed, then renamed
over the target, so a crash leaves either the old file or the new one. A file that is truncated,
corrupted, of another format version or of another model kind raises
:class:`uniscale.errors.StateFileError`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from uniscale.bandit._checks import MAX_SHARED_ARMS
from uniscale.errors import StateFileError

logger = logging.getLogger(__name__)

__all__ = ["FORMAT_VERSION", "check_state_dict", "load_state", "save_state"]

FORMAT_VERSION = 1
_META = "__meta__"
_ARRAYS = ("A", "A_inv", "b", "theta", "counts")
_SCALARS = (
    "format_version",
    "kind",
    "d",
    "n_arms",
    "alpha",
    "lam",
    "gamma",
    "refresh_every",
    "dtype",
    "n_updates",
)


def _int(sd: dict[str, Any], key: str, minimum: int) -> int:
    value = sd[key]
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise StateFileError(f"state: {key} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _float(sd: dict[str, Any], key: str) -> float:
    value = sd[key]
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise StateFileError(f"state: {key} must be a number, got {value!r}")
    return float(value)


def _array(sd: dict[str, Any], key: str, shape: tuple[int, ...], kind: str) -> np.ndarray:
    a = np.asarray(sd[key])
    if a.dtype.kind not in kind:
        raise StateFileError(f"state: {key} has dtype {a.dtype}, expected kind {kind!r}")
    if a.shape != shape:
        raise StateFileError(f"state: {key} has shape {a.shape}, expected {shape}")
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        raise StateFileError(f"state: {key} contains NaN or inf")
    return np.ascontiguousarray(a, dtype=np.float64 if "f" in kind else np.int64)


# Tolerances of the model checks (see the module docstring).
_SYMMETRY_RTOL = 1e-10
_INVERSE_TOL = 1e-6


def _check_model(A: np.ndarray, A_inv: np.ndarray) -> None:
    """StateFileError unless every A (..., d, d) is symmetric positive definite and A_inv is
    its inverse within the tolerance of the module docstring."""
    stack = A.reshape(-1, *A.shape[-2:])
    inv = A_inv.reshape(stack.shape)
    shared = A.ndim == 2

    def where(i: int) -> str:
        return "" if shared else f" (arm {i})"

    scale = np.abs(stack).max(axis=(-2, -1))
    asym = np.abs(stack - np.swapaxes(stack, -1, -2)).max(axis=(-2, -1))
    bad = np.flatnonzero(asym > _SYMMETRY_RTOL * scale)
    if bad.size:
        i = int(bad[0])
        raise StateFileError(
            f"state: A is not symmetric{where(i)}: max |A - A^T| = {asym[i]:g} for max |A| = "
            f"{scale[i]:g}"
        )
    # TODO(uniscale): numpy factors a stack one matrix at a time; a DisjointLinUCB state of
    # K = 1024 arms of d = 128 spends ~4 s here on the shared 2-core machine (K = 168, d = 64:
    # ~13 ms), and deepcopy/pickle go through this check too.
    try:
        L = np.linalg.cholesky(stack)
    except np.linalg.LinAlgError:
        for i in range(stack.shape[0]):  # only to name the arm
            try:
                np.linalg.cholesky(stack[i])
            except np.linalg.LinAlgError:
                break
        raise StateFileError(
            f"state: A is not positive definite{where(i)} (its Cholesky factorization fails)"
        ) from None
    pivots = np.diagonal(L, axis1=-2, axis2=-1)
    kappa = (pivots.max(axis=-1) / pivots.min(axis=-1)) ** 2
    # A_inv (A v) = v on two fixed random probes: O(d^2) per arm instead of forming A_inv A.
    probes = np.random.default_rng(0).standard_normal((stack.shape[-1], 2))
    with np.errstate(over="ignore", invalid="ignore"):
        err = np.abs(inv @ (stack @ probes) - probes).max(axis=(-2, -1)) / np.abs(probes).max()
    tol = _INVERSE_TOL * np.maximum(1.0, kappa)
    bad = np.flatnonzero(~(err <= tol))
    if bad.size:
        i = int(bad[0])
        raise StateFileError(
            f"state: A_inv is not the inverse of A{where(i)}: max |A_inv A v - v| / max |v| = "
            f"{err[i]:g} on random probes v, expected <= {tol[i]:g}"
        )


def check_state_dict(sd: Any, kind: str) -> dict[str, Any]:
    """Validate a state dict for model ``kind``; return a normalized copy.

    Raises
    ------
    StateFileError
        A key is missing, or a value has the wrong type, shape, range or kind of model.
    """
    if not isinstance(sd, dict):
        raise StateFileError(f"state: expected a dict, got {type(sd).__name__}")
    if sd.get("kind") != kind:
        raise StateFileError(f"state: holds a {sd.get('kind')!r} model, expected {kind!r}")
    if "format_version" not in sd:
        raise StateFileError("state: missing keys ['format_version']")
    version = _int(sd, "format_version", 0)
    if version != FORMAT_VERSION:
        raise StateFileError(
            f"state: format_version {version} is not supported, expected {FORMAT_VERSION}"
        )
    need = [k for k in _SCALARS if not (k == "n_arms" and kind == "LinUCB")]
    need += [*_ARRAYS, "since_refresh"]
    missing = [k for k in need if k not in sd]
    if missing:
        raise StateFileError(f"state: missing keys {missing}")
    out: dict[str, Any] = {"format_version": version, "kind": kind}
    d = out["d"] = _int(sd, "d", 1)
    for key in ("alpha", "lam", "gamma"):
        out[key] = _float(sd, key)
    if not (out["alpha"] >= 0 and out["lam"] > 0 and 0 < out["gamma"] <= 1):
        raise StateFileError(
            f"state: need alpha >= 0, lam > 0, 0 < gamma <= 1, got alpha={out['alpha']}, "
            f"lam={out['lam']}, gamma={out['gamma']}"
        )
    out["refresh_every"] = _int(sd, "refresh_every", 1)
    out["n_updates"] = _int(sd, "n_updates", 0)
    if sd["dtype"] not in ("float64", "float32"):
        raise StateFileError(f"state: dtype must be 'float64' or 'float32', got {sd['dtype']!r}")
    out["dtype"] = str(sd["dtype"])
    if kind == "LinUCB":
        lead: tuple[int, ...] = ()
        counts = np.asarray(sd["counts"])
        out["counts"] = _array(sd, "counts", (counts.shape[0] if counts.ndim == 1 else -1,), "iu")
        if out["counts"].shape[0] > MAX_SHARED_ARMS:
            raise StateFileError(
                f"state: counts has {out['counts'].shape[0]} entries, expected at most "
                f"{MAX_SHARED_ARMS} (one per arm index)"
            )
        out["since_refresh"] = _int(sd, "since_refresh", 0)
    else:
        K = out["n_arms"] = _int(sd, "n_arms", 0)
        lead = (K,)
        out["counts"] = _array(sd, "counts", lead, "iu")
        out["since_refresh"] = _array(sd, "since_refresh", lead, "iu")
    if (np.asarray(out["counts"]) < 0).any() or (np.asarray(out["since_refresh"]) < 0).any():
        raise StateFileError("state: counts and since_refresh must be >= 0")
    out["A"] = _array(sd, "A", (*lead, d, d), "f")
    out["A_inv"] = _array(sd, "A_inv", (*lead, d, d), "f")
    out["b"] = _array(sd, "b", (*lead, d), "f")
    out["theta"] = _array(sd, "theta", (*lead, d), "f")
    _check_model(out["A"], out["A_inv"])
    return out


def _digest(arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> str:
    h = hashlib.sha256()
    h.update(json.dumps(meta, sort_keys=True).encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _split(sd: dict[str, Any]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    arrays = {k: v for k, v in sd.items() if isinstance(v, np.ndarray)}
    meta = {}
    for k, v in sd.items():
        if k in arrays:
            continue
        meta[k] = v.item() if isinstance(v, np.generic) else v
    return arrays, meta


def save_state(path: str | os.PathLike[str], sd: dict[str, Any]) -> None:
    """Write state dict ``sd`` to ``path`` atomically (see the module docstring for the format)."""
    path = Path(path)
    if not path.parent.is_dir():
        # Otherwise the error would name the temporary file below.
        raise FileNotFoundError(f"save: folder {path.parent} does not exist (saving {path})")
    arrays, meta = _split(sd)
    meta["sha256"] = _digest(arrays, meta)
    blob = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays, **{_META: blob})
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable; not every platform lets a folder be opened
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        logger.debug("could not fsync folder %s", path.parent)
    finally:
        os.close(dir_fd)


def load_state(path: str | os.PathLike[str], kind: str) -> dict[str, Any]:
    """Read a file written by :func:`save_state` and check it holds a ``kind`` model.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    StateFileError
        The file is not a complete archive of this format, its checksum does not match, or it
        holds another kind of model or an unsupported format version.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"load: no state file at {path}")
    with open(path, "rb") as f:
        head = f.read(4)
    # An npz archive is a zip file; anything else would make numpy try a pickle or .npy.
    if head not in (b"PK\x03\x04", b"PK\x05\x06"):
        raise StateFileError(f"load: {path} is not a uniscale state file (not an npz archive)")
    try:
        # Opened here so the file is closed even when numpy fails half-way through a bad archive.
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as z:
            if _META not in z.files:
                raise StateFileError(f"load: {path} has no {_META} member; not a uniscale state")
            arrays = {name: z[name] for name in z.files if name != _META}
            meta = json.loads(z[_META].tobytes().decode())
    except StateFileError:
        raise
    except Exception as e:  # noqa: BLE001 - a damaged archive can fail in many ways
        # zipfile and numpy raise BadZipFile, EOFError, ValueError, KeyError, struct.error,
        # NotImplementedError (a flipped compression field) ... all mean "damaged file".
        raise StateFileError(
            f"load: {path} is not a readable state file ({type(e).__name__}: {e})"
        ) from e
    if not isinstance(meta, dict) or "sha256" not in meta:
        raise StateFileError(f"load: {path} has no checksum in its metadata")
    expected = meta.pop("sha256")
    if _digest(arrays, meta) != expected:
        raise StateFileError(f"load: {path} fails its SHA-256 check; the file is corrupted")
    sd = {**meta, **arrays}
    if sd.get("kind") != kind:
        raise StateFileError(f"load: {path} holds a {sd.get('kind')!r} model, expected {kind!r}")
    return check_state_dict(sd, kind)
