"""torch implementations of the aggregations (sort + scatter), for CPU and CUDA tensors.

Each function mirrors its numpy reference in :mod:`uniscale.aggregate.reference` and takes the
same already validated shapes. The votes sort each row by ``id * N + position`` so that equal
ids become neighbours with their first appearance leading, number the groups with a cumulative
sum, and gather group sizes, weight sums and first positions with ``scatter_add_`` and
``scatter_reduce_``. Only this module imports torch, and only when a torch
backend is actually used.
"""

from __future__ import annotations

import logging
from typing import Any

import torch

from uniscale.aggregate.results import BestResult, VoteResult, WeightedVoteResult

__all__ = ["majority_vote_torch", "weighted_vote_torch", "best_of_n_torch", "prm_reduce_torch"]

logger = logging.getLogger(__name__)


def _sort_keys(ids: torch.Tensor, ok: torch.Tensor) -> torch.Tensor:
    """Per row, sorted keys ``id * N + position`` (missing: id -1); see the numpy reference."""
    n = ids.shape[1]
    ids64 = ids.to(torch.int64)
    if ids64.numel() and int(ids64.max()) >= torch.iinfo(torch.int64).max // n - 1:
        ids64 = torch.unique(ids64, return_inverse=True)[1].reshape(ids.shape)
    positions = torch.arange(n, dtype=torch.int64, device=ids.device)
    key = torch.where(ok, ids64, -1) * n + positions
    return torch.sort(key, dim=1).values  # keys are unique in a row: stability is not needed


def _grouped_vote(
    ids: torch.Tensor, ok: torch.Tensor, amount: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Winner id (int64) and its total (float64) per row; (-1, 0) where nothing is valid."""
    b, n = ids.shape
    dev = ids.device
    key = _sort_keys(ids, ok)
    answer = torch.div(key, n, rounding_mode="floor")  # missing keys give -1
    position = key - answer * n
    starts = torch.ones((b, n), dtype=torch.bool, device=dev)
    starts[:, 1:] = answer[:, 1:] != answer[:, :-1]
    group = torch.cumsum(starts, dim=1) - 1
    sorted_ok = answer >= 0
    if amount is None:
        add = sorted_ok.to(torch.float64)
    else:
        add = torch.where(sorted_ok, torch.gather(amount, 1, position), 0.0)
    totals = torch.zeros((b, n), dtype=torch.float64, device=dev)
    totals.scatter_add_(1, group, add)
    has = torch.zeros((b, n), dtype=torch.bool, device=dev)
    has.scatter_(1, group, sorted_ok)  # every member of a group agrees on ok (answers are equal)
    first = torch.full((b, n), n, dtype=torch.int64, device=dev)
    first.scatter_reduce_(1, group, position, reduce="amin", include_self=True)
    totals = torch.where(has, totals, -1.0)
    best = totals.max(dim=1).values
    first_of_best = torch.where(totals == best[:, None], first, n).min(dim=1).values
    any_valid = best >= 0.0
    picked = torch.gather(ids, 1, first_of_best.clamp(max=n - 1)[:, None])[:, 0].to(torch.int64)
    winner = torch.where(any_valid, picked, -1)
    return winner, torch.where(any_valid, best, 0.0)


def majority_vote_torch(answer_ids: torch.Tensor, valid: torch.Tensor | None = None) -> VoteResult:
    """torch twin of :func:`~uniscale.aggregate.reference.majority_vote_reference`."""
    b, n = answer_ids.shape
    dev = answer_ids.device
    if b == 0 or n == 0:
        return VoteResult(
            torch.full((b,), -1, dtype=torch.int64, device=dev),
            torch.zeros(b, dtype=torch.int64, device=dev),
            torch.zeros(b, dtype=torch.float64, device=dev),
        )
    ok = answer_ids >= 0
    if valid is not None:
        ok = ok & valid
    winner, count = _grouped_vote(answer_ids, ok, None)
    n_valid = ok.sum(dim=1)
    agreement = torch.where(n_valid > 0, count / n_valid.clamp(min=1), 0.0)
    return VoteResult(winner, count.to(torch.int64), agreement.to(torch.float64))


def weighted_vote_torch(answer_ids: torch.Tensor, weights: torch.Tensor) -> WeightedVoteResult:
    """torch twin of :func:`~uniscale.aggregate.reference.weighted_vote_reference`.

    On CUDA ``scatter_add_`` adds in no fixed order, so totals may differ from the reference in the
    last bits; a winner can then differ only where two totals are within rounding of each other.
    """
    b, n = answer_ids.shape
    dev = answer_ids.device
    if b == 0 or n == 0:
        return WeightedVoteResult(
            torch.full((b,), -1, dtype=torch.int64, device=dev),
            torch.zeros(b, dtype=torch.float64, device=dev),
            torch.zeros(b, dtype=torch.float64, device=dev),
        )
    w = weights.to(torch.float64)
    ok = (answer_ids >= 0) & ~torch.isnan(w)
    winner, weight = _grouped_vote(answer_ids, ok, w)
    total = torch.where(ok, w, 0.0).sum(dim=1)
    positive = total > 0.0
    share = torch.where(positive, weight / torch.where(positive, total, 1.0), 0.0)
    return WeightedVoteResult(winner, weight, share)


def best_of_n_torch(scores: torch.Tensor, valid: torch.Tensor | None = None) -> BestResult:
    """torch twin of :func:`~uniscale.aggregate.reference.best_of_n_reference`."""
    b, n = scores.shape
    dev = scores.device
    if b == 0 or n == 0:
        return BestResult(
            torch.full((b,), -1, dtype=torch.int64, device=dev),
            torch.full((b,), float("nan"), dtype=scores.dtype, device=dev),
        )
    ok = ~torch.isnan(scores)
    if valid is not None:
        ok = ok & valid
    masked = torch.where(ok, scores, float("-inf"))
    best = masked.max(dim=1).values
    hit = ok & (masked == best[:, None])
    found = hit.any(dim=1)
    # argmax over int8 returns the first maximal position: the lowest tied index
    first = hit.to(torch.int8).argmax(dim=1)
    index = torch.where(found, first, -1).to(torch.int64)
    score = torch.where(found, best, float("nan")).to(scores.dtype)
    return BestResult(index, score)


def prm_reduce_torch(step_scores: torch.Tensor, offsets: Any, mode: str) -> torch.Tensor:
    """torch twin of :func:`~uniscale.aggregate.reference.prm_reduce_reference`.

    ``offsets`` are the checked host offsets (numpy int64, shape (n + 1,)).
    """
    dev = step_scores.device
    n = int(offsets.shape[0]) - 1
    out = torch.full((n,), float("nan"), dtype=torch.float64, device=dev)
    off = torch.as_tensor(offsets, dtype=torch.int64, device=dev)
    lengths = off[1:] - off[:-1]
    nonempty = lengths > 0
    if step_scores.shape[0] == 0:
        return out
    x = step_scores.to(torch.float64)
    seg = torch.repeat_interleave(torch.arange(n, device=dev), lengths)
    if mode == "last":
        last = x[(off[1:] - 1).clamp(min=0)]
        return torch.where(nonempty, last, out)
    if mode == "min":
        acc = torch.full((n,), float("inf"), dtype=torch.float64, device=dev)
        acc.scatter_reduce_(0, seg, x, reduce="amin", include_self=True)
    elif mode == "prod":
        acc = torch.ones(n, dtype=torch.float64, device=dev)
        acc.scatter_reduce_(0, seg, x, reduce="prod", include_self=True)
    elif mode in ("mean", "sum_log"):
        values = x if mode == "mean" else torch.log(x)  # log(0) = -inf, as documented
        acc = torch.zeros(n, dtype=torch.float64, device=dev)
        acc.scatter_add_(0, seg, values)
        if mode == "mean":
            acc = acc / lengths.clamp(min=1)
    else:
        raise ValueError(
            f"prm_reduce_torch: mode must be one of min/last/mean/prod/sum_log; got {mode!r}"
        )
    # scatter min/prod do not promise IEEE NaN propagation, so a NaN step is applied explicitly
    nan_steps = torch.zeros(n, dtype=torch.int64, device=dev)
    nan_steps.scatter_add_(0, seg, torch.isnan(x).to(torch.int64))
    acc = torch.where(nan_steps > 0, float("nan"), acc)
    return torch.where(nonempty, acc, out)
