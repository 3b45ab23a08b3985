"""The public aggregation operations: validation at the boundary, then a backend.

Backends: ``"numpy"`` (the references), ``"torch"`` and ``"triton"``. ``backend="auto"`` picks by
the input: numpy arrays, sequences and CPU tensors go to numpy (the fastest on CPU, as measured),
CUDA tensors to Triton, or to torch when Triton cannot run (logging the reason once), tensors on
other devices to torch. A backend named explicitly either
runs or raises :class:`~uniscale.errors.BackendUnavailableError` with the reason. numpy in gives
numpy out; a tensor in gives tensors out on the same device, whichever backend computed them.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable
from typing import Any

import numpy as np

from uniscale.aggregate import reference
from uniscale.aggregate._validate import (
    PRM_MODES,
    as_array,
    check_companion,
    check_float,
    check_ids,
    check_offsets,
    check_rows_shape,
    check_sum_log_values,
    check_weights_values,
    dtype_name,
    is_torch_tensor,
)
from uniscale.aggregate.results import BestResult, VoteResult, WeightedVoteResult
from uniscale.errors import BackendUnavailableError

__all__ = ["BACKENDS", "majority_vote", "weighted_vote", "best_of_n", "prm_reduce"]

logger = logging.getLogger(__name__)

#: The values ``backend=`` accepts.
BACKENDS = ("auto", "numpy", "torch", "triton")

_fallbacks_logged: set[tuple[str, str]] = set()


def _device_type(x: Any) -> str:
    return x.device.type if is_torch_tensor(x) else "cpu"


def _choose(op: str, backend: str, x: Any) -> str:
    """The backend that will run ``op`` on ``x``, or raise why the requested one cannot."""
    if backend not in BACKENDS:
        raise ValueError(f"{op}: backend must be one of {', '.join(BACKENDS)}; got {backend!r}")
    if backend == "numpy":
        return "numpy"
    if backend == "torch":
        if importlib.util.find_spec("torch") is None:
            raise BackendUnavailableError(
                f"{op}: backend='torch' needs torch, which is not installed"
            )
        return "torch"
    from uniscale.aggregate import triton_backend

    if backend == "triton":
        device = _device_type(x)
        if not is_torch_tensor(x) and not triton_backend.interpreting():
            device = "cuda" if _cuda_available() else "cpu"
        reason = triton_backend.unavailable_reason(device)
        if reason is None and importlib.util.find_spec("torch") is None:
            reason = "the triton backend needs torch, which is not installed"
        if reason is not None:
            raise BackendUnavailableError(f"{op}: backend='triton' cannot run: {reason}")
        return "triton"
    # auto. CPU tensors take the numpy references through zero-copy views: on CPU they beat the
    # torch backend (see benchmarks/results/aggregate.md), and Triton's interpreter is only a
    # correctness tool. Other non-CUDA devices (mps, xpu) get the torch backend.
    if not is_torch_tensor(x) or x.device.type == "cpu":
        return "numpy"
    if x.device.type != "cuda":
        return "torch"
    reason = triton_backend.unavailable_reason("cuda")
    if reason is None:
        return "triton"
    if (op, reason) not in _fallbacks_logged:
        _fallbacks_logged.add((op, reason))
        logger.warning("%s: backend='auto' uses torch on CUDA because %s", op, reason)
    return "torch"


def _cuda_available() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


def _to_numpy(x: Any) -> Any:
    """A host numpy view/copy of a tensor (bfloat16 widened to float32, which is exact)."""
    if x is None or not is_torch_tensor(x):
        return x
    import torch

    if x.dtype == torch.bfloat16:
        x = x.to(torch.float32)
    return x.detach().cpu().numpy()


def _to_torch(x: Any, device: Any) -> Any:
    """A tensor on ``device`` holding ``x``; numpy arrays are never written to, so no copy."""
    if x is None or is_torch_tensor(x):
        return x
    import torch

    if not x.flags.writeable or any(s < 0 for s in x.strides):
        x = np.array(x)  # torch.from_numpy rejects negative strides and warns on read-only data
    return torch.from_numpy(x).to(device)


def _run(
    chosen: str,
    funcs: dict[str, Callable[..., Any]],
    like: Any,
    args: tuple[Any, ...],
    out_dtypes: tuple[Any, ...] | None = None,
    keep: tuple[int, ...] = (),
) -> Any:
    """Run ``funcs[chosen]`` on ``args`` converted for that backend, results in ``like``'s kind.

    ``out_dtypes`` gives, per output, the dtype to restore when a tensor input went through numpy
    (None keeps what numpy produced). Arguments at the positions in ``keep`` pass unchanged.
    """
    tensor_in = is_torch_tensor(like)
    if chosen == "numpy":
        result = funcs["numpy"](*(_to_numpy(a) for a in args))
        if not tensor_in:
            return result
        import torch

        outs = []
        for i, field in enumerate(result if isinstance(result, tuple) else (result,)):
            t = torch.from_numpy(np.ascontiguousarray(field)).to(like.device)
            if out_dtypes is not None and out_dtypes[i] is not None:
                t = t.to(out_dtypes[i])
            outs.append(t)
        return type(result)(*outs) if isinstance(result, tuple) else outs[0]
    if tensor_in:
        device = like.device
    elif chosen == "triton" and not _interpreting():
        device = "cuda"
    else:
        device = "cpu"
    result = funcs[chosen](*(a if i in keep else _to_torch(a, device) for i, a in enumerate(args)))
    if tensor_in:
        return result
    if isinstance(result, tuple):
        return type(result)(*(_to_numpy(field) for field in result))
    return _to_numpy(result)


def _interpreting() -> bool:
    from uniscale.aggregate.triton_backend import interpreting

    return interpreting()


def _backend_funcs(name: str) -> dict[str, Callable[..., Any]]:
    """numpy/torch/triton implementations of operation ``name``, imported lazily."""

    def torch_impl(*args: Any) -> Any:
        from uniscale.aggregate import torch_backend

        return getattr(torch_backend, f"{name}_torch")(*args)

    def triton_impl(*args: Any) -> Any:
        from uniscale.aggregate import triton_backend

        return getattr(triton_backend, f"{name}_triton")(*args)

    return {
        "numpy": getattr(reference, f"{name}_reference"),
        "torch": torch_impl,
        "triton": triton_impl,
    }


def _check_valid(op: str, ref_name: str, ref: Any, valid: Any) -> Any:
    if valid is None:
        return None
    valid = as_array(op, "valid", valid)
    check_companion(op, ref_name, ref, "valid", valid)
    if dtype_name(valid) != "bool":
        raise TypeError(f"{op}: valid must have dtype bool; got {dtype_name(valid)}")
    return valid


def _rows(x: Any) -> Any:
    return None if x is None else (x[None] if x.ndim == 1 else x)


def _unrow(result: Any, squeeze: bool) -> Any:
    if not squeeze:
        return result
    return type(result)(*(field[0] for field in result))


def majority_vote(answer_ids: Any, valid: Any = None, *, backend: str = "auto") -> VoteResult:
    """Most frequent answer per row.

    Parameters
    ----------
    answer_ids : int32 or int64, shape (B, N) or (N,)
        Answer ids, e.g. from :func:`canonical_ids`; a negative id (conventionally -1) marks a
        missing candidate. A one-dimensional input is a single row.
    valid : bool, shape of ``answer_ids``, optional
        False marks a missing candidate.
    backend : {"auto", "numpy", "torch", "triton"}

    Returns
    -------
    VoteResult
        ``winner`` int64 (B,), ``count`` int64 (B,), ``agreement`` float64 (B,); scalars (numpy
        scalars or 0-d tensors) for a one-dimensional input. Ties go to the answer that appears
        first in the row; a row with no valid candidate gives ``(-1, 0, 0.0)``.

    Raises
    ------
    TypeError, ValueError
        Wrong dtype, shape, kind, or more than ``MAX_CANDIDATES`` candidates per row.
    BackendUnavailableError
        The requested backend cannot run here.
    """
    op = "majority_vote"
    ids = as_array(op, "answer_ids", answer_ids)
    check_ids(op, "answer_ids", ids)
    check_rows_shape(op, "answer_ids", ids)
    valid = _check_valid(op, "answer_ids", ids, valid)
    chosen = _choose(op, backend, ids)
    out_dtypes = None
    if is_torch_tensor(ids):
        import torch

        out_dtypes = (torch.int64, torch.int64, torch.float64)
    result = _run(chosen, _backend_funcs(op), ids, (_rows(ids), _rows(valid)), out_dtypes)
    return _unrow(result, ids.ndim == 1)


def weighted_vote(answer_ids: Any, weights: Any, *, backend: str = "auto") -> WeightedVoteResult:
    """Answer with the largest total weight per row.

    Parameters
    ----------
    answer_ids : int32 or int64, shape (B, N) or (N,)
        Answer ids; a negative id marks a missing candidate. A one-dimensional input is one row.
    weights : float16, float32, float64 (or bfloat16 tensors), shape of ``answer_ids``
        Finite and >= 0; NaN marks a missing candidate. Negative or infinite weights raise
        ValueError (turn log-probabilities into probabilities first). Totals are float64.
    backend : {"auto", "numpy", "torch", "triton"}

    Returns
    -------
    WeightedVoteResult
        ``winner`` int64 (B,), ``weight`` float64 (B,), ``share`` float64 (B,); scalars for a
        one-dimensional input. Ties (equal float64 totals) go to the answer that appears first in
        the row; a row with no valid candidate gives ``(-1, 0.0, 0.0)``; a row whose valid
        weights are all zero gives its first valid answer with ``(0.0, 0.0)``.
    """
    op = "weighted_vote"
    ids = as_array(op, "answer_ids", answer_ids)
    check_ids(op, "answer_ids", ids)
    check_rows_shape(op, "answer_ids", ids)
    w = as_array(op, "weights", weights)
    check_companion(op, "answer_ids", ids, "weights", w)
    check_float(op, "weights", w)
    check_weights_values(op, "weights", w)
    chosen = _choose(op, backend, ids)
    out_dtypes = None
    if is_torch_tensor(ids):
        import torch

        out_dtypes = (torch.int64, torch.float64, torch.float64)
    result = _run(chosen, _backend_funcs(op), ids, (_rows(ids), _rows(w)), out_dtypes)
    return _unrow(result, ids.ndim == 1)


def best_of_n(scores: Any, valid: Any = None, *, backend: str = "auto") -> BestResult:
    """Position and value of the highest score per row.

    Parameters
    ----------
    scores : float16, float32, float64 (or bfloat16 tensors), shape (B, N) or (N,)
        NaN marks a missing candidate; -inf is a valid score below every other, so a row whose
        valid scores are all -inf returns its first valid index with score -inf.
    valid : bool, shape of ``scores``, optional
        False marks a missing candidate.
    backend : {"auto", "numpy", "torch", "triton"}

    Returns
    -------
    BestResult
        ``index`` int64 (B,), ``score`` (B,) in the dtype of ``scores``; scalars for a
        one-dimensional input. Ties go to the lowest index; a row with nothing valid gives
        ``(-1, NaN)``.
    """
    op = "best_of_n"
    s = as_array(op, "scores", scores)
    check_float(op, "scores", s)
    check_rows_shape(op, "scores", s)
    valid = _check_valid(op, "scores", s, valid)
    chosen = _choose(op, backend, s)
    out_dtypes = None
    if is_torch_tensor(s):
        import torch

        out_dtypes = (torch.int64, s.dtype)
    result = _run(chosen, _backend_funcs(op), s, (_rows(s), _rows(valid)), out_dtypes)
    return _unrow(result, s.ndim == 1)


def prm_reduce(step_scores: Any, offsets: Any, mode: str, *, backend: str = "auto") -> Any:
    """Reduce ragged per-step verifier scores to one score per candidate.

    Parameters
    ----------
    step_scores : float16, float32, float64 (or bfloat16 tensors), shape (S,)
        Scores of all steps of all candidates; candidate ``i`` owns
        ``step_scores[offsets[i]:offsets[i + 1]]``.
    offsets : int32 or int64, shape (n + 1,)
        CSR offsets: ``offsets[0] == 0``, non-decreasing, ``offsets[-1] == S``. A numpy array or a
        tensor on any device (it is read on the host).
    mode : {"min", "last", "mean", "prod", "sum_log"}
        ``sum_log`` is the sum of natural logs (the log of ``prod``); it needs scores >= 0, and a
        zero step makes the candidate's score -inf.
    backend : {"auto", "numpy", "torch", "triton"}

    Returns
    -------
    float64, shape (n,)
        NaN for a candidate without steps, and (except for ``last``, which reads only the last
        step) for a candidate with a NaN step.
    """
    op = "prm_reduce"
    x = as_array(op, "step_scores", step_scores)
    check_float(op, "step_scores", x)
    if x.ndim != 1:
        raise ValueError(f"{op}: step_scores must have shape (S,); got {tuple(x.shape)}")
    if not isinstance(mode, str) or mode not in PRM_MODES:
        raise ValueError(f"{op}: mode must be one of {', '.join(PRM_MODES)}; got {mode!r}")
    off = as_array(op, "offsets", offsets)
    host_offsets = check_offsets(op, off, int(x.shape[0]))
    if mode == "sum_log":
        check_sum_log_values(op, "step_scores", x)
    chosen = _choose(op, backend, x)
    # the backends take the checked offsets on the host (keep=(1,)): they need their lengths
    return _run(chosen, _backend_funcs(op), x, (x, host_offsets, mode), keep=(1, 2))
