"""Triton kernels for majority and weighted vote over ``(B, N)`` answer ids.

The semantics are those of :mod:`uniscale.aggregate.reference`. A program handles ``BLOCK_B``
rows. For a tile of ``BLOCK_J`` "judge" candidates it counts, against every tile of ``BLOCK_K``
candidates of the same row, how many valid candidates carry the same id (or adds their weights),
so one row costs N² comparisons but needs no sort, no scratch memory and no atomics. Every
occurrence of an answer gets the same total, summed over the same tiles in the same order, so the
lowest position with the largest total is the first appearance of the winning answer: the tie
rule of the references.

TODO(uniscale): the N² comparisons make the kernel compute-bound for large N (256 candidates are
65536 comparisons a row); whether it reaches half the memory bandwidth at B = 65536, N = 64 was
not measured (no GPU was available). A per-row sort in shared memory would scale as N log N.
"""

from __future__ import annotations

import logging

import torch
import triton
import triton.language as tl

__all__ = ["vote", "vote_tiles"]

logger = logging.getLogger(__name__)


@triton.jit
def _vote_kernel(
    ids_ptr,
    valid_ptr,
    weights_ptr,
    winner_ptr,
    total_ptr,
    share_ptr,
    B,
    N,
    stride_ids_b,
    stride_ids_n,
    stride_valid_b,
    stride_valid_n,
    stride_w_b,
    stride_w_n,
    HAS_VALID: tl.constexpr,
    WEIGHTED: tl.constexpr,
    BLOCK_B: tl.constexpr,
    BLOCK_J: tl.constexpr,
    BLOCK_K: tl.constexpr,
):
    pid = tl.program_id(0)
    # 64-bit row numbers before they meet a stride: B * stride can pass 2**31
    rows = pid.to(tl.int64) * BLOCK_B + tl.arange(0, BLOCK_B).to(tl.int64)
    row_in = rows < B
    best_total = tl.full((BLOCK_B,), -1.0, tl.float64)
    best_id = tl.full((BLOCK_B,), -1, tl.int64)
    row_total = tl.zeros((BLOCK_B,), tl.float64)
    for j0 in range(0, N, BLOCK_J):
        cols_j = j0 + tl.arange(0, BLOCK_J)
        in_j = row_in[:, None] & (cols_j[None, :] < N)
        # ids stay in their stored width: int32 comparisons cost half of int64 ones
        id_j = tl.load(
            ids_ptr + rows[:, None] * stride_ids_b + cols_j[None, :] * stride_ids_n,
            mask=in_j,
            other=-1,
        )
        ok_j = in_j & (id_j >= 0)
        if HAS_VALID:
            v_j = tl.load(
                valid_ptr + rows[:, None] * stride_valid_b + cols_j[None, :] * stride_valid_n,
                mask=in_j,
                other=0,
            )
            ok_j = ok_j & (v_j != 0)
        if WEIGHTED:
            w_j = tl.load(
                weights_ptr + rows[:, None] * stride_w_b + cols_j[None, :] * stride_w_n,
                mask=in_j,
                other=0.0,
            ).to(tl.float64)
            ok_j = ok_j & (w_j == w_j)  # NaN weight: missing
            row_total += tl.sum(tl.where(ok_j, w_j, 0.0), axis=1)
        else:
            row_total += tl.sum(ok_j.to(tl.float64), axis=1)
        id_j = tl.where(ok_j, id_j, -1)

        # counts are exact in int32 (N <= 4096) and cheaper than float64 on most GPUs
        if WEIGHTED:
            totals = tl.zeros((BLOCK_B, BLOCK_J), tl.float64)
        else:
            totals = tl.zeros((BLOCK_B, BLOCK_J), tl.int32)
        for k0 in range(0, N, BLOCK_K):
            cols_k = k0 + tl.arange(0, BLOCK_K)
            in_k = row_in[:, None] & (cols_k[None, :] < N)
            id_k = tl.load(
                ids_ptr + rows[:, None] * stride_ids_b + cols_k[None, :] * stride_ids_n,
                mask=in_k,
                other=-1,
            )
            ok_k = in_k & (id_k >= 0)
            if HAS_VALID:
                v_k = tl.load(
                    valid_ptr + rows[:, None] * stride_valid_b + cols_k[None, :] * stride_valid_n,
                    mask=in_k,
                    other=0,
                )
                ok_k = ok_k & (v_k != 0)
            same = (id_j[:, :, None] == id_k[:, None, :]) & ok_k[:, None, :]
            if WEIGHTED:
                w_k = tl.load(
                    weights_ptr + rows[:, None] * stride_w_b + cols_k[None, :] * stride_w_n,
                    mask=in_k,
                    other=0.0,
                ).to(tl.float64)
                ok_w = w_k == w_k
                totals += tl.sum(tl.where(same & ok_w[:, None, :], w_k[:, None, :], 0.0), axis=2)
            else:
                totals += tl.sum(same.to(tl.int32), axis=2)

        totals = tl.where(ok_j, totals, -1)  # a missing candidate never wins
        tile_best = tl.max(totals, axis=1)
        pos = tl.where(totals == tile_best[:, None], cols_j[None, :], N + BLOCK_J)
        first = tl.min(pos, axis=1)
        tile_id = tl.sum(tl.where(cols_j[None, :] == first[:, None], id_j, 0), axis=1).to(tl.int64)
        # strictly greater: an equal total found in a later tile appeared later in the row
        tile_best = tile_best.to(tl.float64)
        better = tile_best > best_total
        best_total = tl.where(better, tile_best, best_total)
        best_id = tl.where(better, tile_id, best_id)

    found = best_total >= 0.0
    share = tl.where(row_total > 0.0, best_total / tl.where(row_total > 0.0, row_total, 1.0), 0.0)
    tl.store(winner_ptr + rows, tl.where(found, best_id, -1), mask=row_in)
    tl.store(total_ptr + rows, tl.where(found, best_total, 0.0), mask=row_in)
    tl.store(share_ptr + rows, tl.where(found, share, 0.0), mask=row_in)


def _pow2_at_most(n: int, cap: int) -> int:
    return max(1, min(triton.next_power_of_2(max(n, 1)), cap))


def vote_tiles(n: int) -> tuple[int, int, int]:
    """Default (BLOCK_B, BLOCK_J, BLOCK_K) for rows of ``n`` candidates."""
    bj = _pow2_at_most(n, 32)
    bk = _pow2_at_most(n, 64)
    # a comparison tile of at most 2048 elements and 32 rows: ptxas (sm_90) then gives 47-108
    # registers a thread without spills, where 4096 elements need 158.
    # TODO(uniscale): tile sizes were chosen from register counts without a GPU; autotune on one.
    return max(1, min(32, 2048 // (bj * bk))), bj, bk


def vote(
    answer_ids: torch.Tensor,
    valid: torch.Tensor | None = None,
    weights: torch.Tensor | None = None,
    *,
    block_b: int | None = None,
    block_j: int | None = None,
    block_k: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Launch :func:`_vote_kernel` on validated inputs.

    Parameters
    ----------
    answer_ids : int32 or int64, shape (B, N), any strides
    valid : bool, shape (B, N), optional
    weights : float16, bfloat16, float32 or float64, shape (B, N), optional
        With weights the vote is weighted (NaN weight = missing), else each candidate counts 1.
    block_b, block_j, block_k : int, optional
        Powers of two overriding the tile sizes (tests use small ones to cross tile borders).

    Returns
    -------
    winner : int64 (B,); total : float64 (B,), the winner's count or weight; share : float64 (B,)
    """
    b, n = answer_ids.shape
    dev = answer_ids.device
    winner = torch.empty(b, dtype=torch.int64, device=dev)
    total = torch.empty(b, dtype=torch.float64, device=dev)
    share = torch.empty(b, dtype=torch.float64, device=dev)
    if b == 0:
        return winner, total, share
    default_b, default_j, default_k = vote_tiles(n)
    bb, bj, bk = block_b or default_b, block_j or default_j, block_k or default_k
    # bool loads are not uniform across Triton versions; bytes are
    valid_arg = valid.view(torch.uint8) if valid is not None else answer_ids
    weights_arg = weights if weights is not None else answer_ids
    grid = (triton.cdiv(b, bb),)
    _vote_kernel[grid](
        answer_ids,
        valid_arg,
        weights_arg,
        winner,
        total,
        share,
        b,
        n,
        answer_ids.stride(0),
        answer_ids.stride(1),
        valid_arg.stride(0),
        valid_arg.stride(1),
        weights_arg.stride(0),
        weights_arg.stride(1),
        HAS_VALID=valid is not None,
        WEIGHTED=weights is not None,
        BLOCK_B=bb,
        BLOCK_J=bj,
        BLOCK_K=bk,
        # explicit: no fused multiply-add, and no warning from Triton about its changing default
        enable_fp_fusion=False,
    )
    return winner, total, share
