"""Triton kernel reducing ragged per-step PRM scores (CSR offsets) to one score per candidate.

The semantics are those of :func:`uniscale.aggregate.reference.prm_reduce_reference`. A program
handles ``BLOCK_C`` candidates and walks their steps in tiles of ``BLOCK_S``, each candidate
reading from its own start offset; the loop runs as far as the longest candidate of the block.
Sums and products accumulate in float64. A NaN step is counted separately and applied at the end,
so the result does not depend on how ``tl.minimum`` treats NaN.
"""

from __future__ import annotations

import logging

import numpy as np
import torch
import triton
import triton.language as tl

__all__ = ["prm_reduce", "prm_reduce_tiles", "MODE_CODES"]

logger = logging.getLogger(__name__)

#: Mode name -> the ``MODE`` constexpr of the kernel.
MODE_CODES = {"min": 0, "last": 1, "mean": 2, "prod": 3, "sum_log": 4}


@triton.jit
def _multiply(a, b):
    return a * b


@triton.jit
def _prm_reduce_kernel(
    steps_ptr,
    offsets_ptr,
    out_ptr,
    n_candidates,
    stride_steps,
    MODE: tl.constexpr,
    BLOCK_C: tl.constexpr,
    BLOCK_S: tl.constexpr,
):
    pid = tl.program_id(0)
    cand = pid.to(tl.int64) * BLOCK_C + tl.arange(0, BLOCK_C).to(tl.int64)
    cand_in = cand < n_candidates
    start = tl.load(offsets_ptr + cand, mask=cand_in, other=0).to(tl.int64)
    end = tl.load(offsets_ptr + cand + 1, mask=cand_in, other=0).to(tl.int64)
    length = end - start
    if MODE == 1:
        last = tl.load(steps_ptr + (end - 1) * stride_steps, mask=cand_in & (length > 0))
        result = last.to(tl.float64)
    else:
        if MODE == 0:
            acc = tl.full((BLOCK_C, BLOCK_S), float("inf"), tl.float64)
        elif MODE == 3:
            acc = tl.full((BLOCK_C, BLOCK_S), 1.0, tl.float64)
        else:
            acc = tl.zeros((BLOCK_C, BLOCK_S), tl.float64)
        nan_steps = tl.zeros((BLOCK_C, BLOCK_S), tl.int32)
        longest = tl.max(length, axis=0)
        for s0 in range(0, longest, BLOCK_S):
            local = s0 + tl.arange(0, BLOCK_S).to(tl.int64)
            inside = cand_in[:, None] & (local[None, :] < length[:, None])
            x = tl.load(
                steps_ptr + (start[:, None] + local[None, :]) * stride_steps,
                mask=inside,
                other=0.0,
            ).to(tl.float64)
            nan_steps += (inside & (x != x)).to(tl.int32)
            if MODE == 0:
                acc = tl.minimum(acc, tl.where(inside, x, float("inf")))
            elif MODE == 3:
                acc = acc * tl.where(inside, x, 1.0)
            elif MODE == 4:
                # log only of positive lanes: log(0) is written as -inf rather than computed,
                # which keeps the interpreter (numpy) free of divide-by-zero warnings
                positive = inside & (x > 0.0)
                logs = tl.where(positive, tl.log(tl.where(positive, x, 1.0)), float("-inf"))
                acc += tl.where(inside, logs, 0.0)
            else:
                acc += tl.where(inside, x, 0.0)
        if MODE == 0:
            result = tl.min(acc, axis=1)
        elif MODE == 3:
            result = tl.reduce(acc, 1, _multiply)
        elif MODE == 2:
            result = tl.sum(acc, axis=1) / tl.maximum(length, 1).to(tl.float64)
        else:
            result = tl.sum(acc, axis=1)
        result = tl.where(tl.sum(nan_steps, axis=1) > 0, float("nan"), result)
    result = tl.where(length > 0, result, float("nan"))
    tl.store(out_ptr + cand, result, mask=cand_in)


def prm_reduce_tiles(longest: int) -> tuple[int, int]:
    """Default (BLOCK_C, BLOCK_S) when the longest candidate has ``longest`` steps."""
    bs = max(1, min(triton.next_power_of_2(max(longest, 1)), 64))
    # TODO(uniscale): tile sizes were chosen without a GPU (no spills on sm_90); autotune on one.
    return max(1, min(256, 512 // bs)), bs


def prm_reduce(
    step_scores: torch.Tensor,
    offsets: np.ndarray,
    mode: str,
    *,
    block_c: int | None = None,
    block_s: int | None = None,
) -> torch.Tensor:
    """Launch :func:`_prm_reduce_kernel` on validated inputs.

    Parameters
    ----------
    step_scores : float16, bfloat16, float32 or float64, shape (S,), any stride
    offsets : np.ndarray, int64, shape (n + 1,)
        Checked CSR offsets (host copy); they are copied to the scores' device.
    mode : {"min", "last", "mean", "prod", "sum_log"}
    block_c, block_s : int, optional
        Powers of two overriding the tile sizes (tests use small ones to cross tile borders).

    Returns
    -------
    torch.Tensor, float64, shape (n,), on the device of ``step_scores``
    """
    dev = step_scores.device
    n = int(offsets.shape[0]) - 1
    out = torch.empty(n, dtype=torch.float64, device=dev)
    if n == 0:
        return out
    default_c, default_s = prm_reduce_tiles(int(np.max(np.diff(offsets))))
    bc, bs = block_c or default_c, block_s or default_s
    off = torch.as_tensor(offsets, dtype=torch.int64).to(dev)
    # an empty step tensor still needs a valid base pointer; no lane reads it
    steps = (
        step_scores
        if step_scores.shape[0] > 0
        else torch.zeros(1, dtype=step_scores.dtype, device=dev)
    )
    grid = (triton.cdiv(n, bc),)
    _prm_reduce_kernel[grid](
        steps,
        off,
        out,
        n,
        steps.stride(0),
        MODE=MODE_CODES[mode],
        BLOCK_C=bc,
        BLOCK_S=bs,
        # explicit: no fused multiply-add, and no warning from Triton about its changing default
        enable_fp_fusion=False,
    )
    return out
