"""Triton kernel for best-of-N: the highest score per row of a ``(B, N)`` matrix.

The semantics are those of :func:`uniscale.aggregate.reference.best_of_n_reference`: NaN and
``valid == False`` are missing, -inf is a valid score below every other, ties go to the lowest
index, and a row with nothing valid gets index -1 and a NaN score. A program handles ``BLOCK_B``
rows and walks them in tiles of ``BLOCK_N`` columns, keeping the best value and its position.
"""

from __future__ import annotations

import logging

import torch
import triton
import triton.language as tl

__all__ = ["best_of_n", "best_of_n_tiles"]

logger = logging.getLogger(__name__)


@triton.jit
def _best_of_n_kernel(
    scores_ptr,
    valid_ptr,
    index_ptr,
    best_ptr,
    B,
    N,
    stride_s_b,
    stride_s_n,
    stride_valid_b,
    stride_valid_n,
    HAS_VALID: tl.constexpr,
    COMPUTE_DTYPE: tl.constexpr,
    BLOCK_B: tl.constexpr,
    BLOCK_N: tl.constexpr,
):
    pid = tl.program_id(0)
    rows = pid.to(tl.int64) * BLOCK_B + tl.arange(0, BLOCK_B).to(tl.int64)
    row_in = rows < B
    best = tl.full((BLOCK_B,), float("-inf"), COMPUTE_DTYPE)
    best_index = tl.full((BLOCK_B,), -1, tl.int64)
    for n0 in range(0, N, BLOCK_N):
        cols = n0 + tl.arange(0, BLOCK_N)
        inside = row_in[:, None] & (cols[None, :] < N)
        x = tl.load(
            scores_ptr + rows[:, None] * stride_s_b + cols[None, :] * stride_s_n,
            mask=inside,
            other=float("nan"),
        ).to(COMPUTE_DTYPE)
        ok = inside & (x == x)  # NaN: missing
        if HAS_VALID:
            v = tl.load(
                valid_ptr + rows[:, None] * stride_valid_b + cols[None, :] * stride_valid_n,
                mask=inside,
                other=0,
            )
            ok = ok & (v != 0)
        masked = tl.where(ok, x, float("-inf"))
        tile_best = tl.max(masked, axis=1)
        hit = ok & (masked == tile_best[:, None])
        tile_index = tl.min(tl.where(hit, cols[None, :], N + BLOCK_N), axis=1).to(tl.int64)
        tile_found = tile_index < N
        # a later tile wins only with a strictly larger score; the first valid one always enters
        take = tile_found & ((best_index < 0) | (tile_best > best))
        best = tl.where(take, tile_best, best)
        best_index = tl.where(take, tile_index, best_index)
    found = best_index >= 0
    tl.store(index_ptr + rows, best_index, mask=row_in)
    out = tl.where(found, best, float("nan")).to(best_ptr.dtype.element_ty)
    tl.store(best_ptr + rows, out, mask=row_in)


def best_of_n_tiles(n: int) -> tuple[int, int]:
    """Default (BLOCK_B, BLOCK_N) for rows of ``n`` scores."""
    bn = max(1, min(triton.next_power_of_2(max(n, 1)), 256))
    # tiles of at most 512 scores: 48 registers a thread on sm_90 (2048 would need 163).
    # TODO(uniscale): tile sizes were chosen from register counts without a GPU; autotune on one.
    return max(1, min(128, 512 // bn)), bn


def best_of_n(
    scores: torch.Tensor,
    valid: torch.Tensor | None = None,
    *,
    block_b: int | None = None,
    block_n: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Launch :func:`_best_of_n_kernel` on validated inputs.

    Parameters
    ----------
    scores : float16, bfloat16, float32 or float64, shape (B, N), any strides
    valid : bool, shape (B, N), optional
    block_b, block_n : int, optional
        Powers of two overriding the tile sizes (tests use small ones to cross tile borders).

    Returns
    -------
    index : int64 (B,); score : (B,) in the dtype of ``scores``
    """
    b, n = scores.shape
    dev = scores.device
    index = torch.empty(b, dtype=torch.int64, device=dev)
    best = torch.empty(b, dtype=scores.dtype, device=dev)
    if b == 0:
        return index, best
    default_b, default_n = best_of_n_tiles(n)
    bb, bn = block_b or default_b, block_n or default_n
    valid_arg = valid.view(torch.uint8) if valid is not None else scores
    # comparisons are exact in float32 for half types; float64 keeps its own precision
    compute = tl.float64 if scores.dtype == torch.float64 else tl.float32
    grid = (triton.cdiv(b, bb),)
    _best_of_n_kernel[grid](
        scores,
        valid_arg,
        index,
        best,
        b,
        n,
        scores.stride(0),
        scores.stride(1),
        valid_arg.stride(0),
        valid_arg.stride(1),
        HAS_VALID=valid is not None,
        COMPUTE_DTYPE=compute,
        BLOCK_B=bb,
        BLOCK_N=bn,
        # explicit: no fused multiply-add, and no warning from Triton about its changing default
        enable_fp_fusion=False,
    )
    return index, best
