"""numpy references: they define the semantics of every aggregation and serve the CPU.

Every other backend (torch, Triton) is tested against these functions. They take arrays that the
public operations in :mod:`uniscale.aggregate` have already validated: two-dimensional ``(B, N)``
rows for the votes and ``best_of_n``, one-dimensional step scores with checked CSR offsets for
``prm_reduce``. The rules (missing candidates, ties, sentinels) are written in the docstring of
:mod:`uniscale.aggregate`.

The votes sort each row by the key ``id * N + position``: equal ids become neighbours, the first
element of each group is the answer's first appearance, and group sizes or weight sums come from
one ``bincount`` over the whole batch. The winner is the group with the largest total,
ties going to the group that appears first in the row.
"""

from __future__ import annotations

import logging

import numpy as np

from uniscale.aggregate.results import BestResult, VoteResult, WeightedVoteResult

__all__ = [
    "majority_vote_reference",
    "weighted_vote_reference",
    "best_of_n_reference",
    "prm_reduce_reference",
]

logger = logging.getLogger(__name__)


def _sort_keys(ids: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Per row, sorted keys ``id * N + position`` (missing candidates use id -1).

    The keys are unique within a row and order by answer, then by position, so a plain (not
    stable) sort groups equal answers with their first appearance leading the group. Ids so large
    that ``id * N`` would overflow int64 are first replaced by their rank among the batch's ids,
    which keeps equality and order.
    """
    n = ids.shape[1]
    ids64 = ids.astype(np.int64)
    if ids64.size and int(ids64.max()) >= np.iinfo(np.int64).max // n - 1:
        ids64 = np.unique(ids64, return_inverse=True)[1].reshape(ids.shape).astype(np.int64)
    key = np.where(ok, ids64, -1) * n + np.arange(n, dtype=np.int64)
    return np.sort(key, axis=1)


def _grouped_vote(
    ids: np.ndarray, ok: np.ndarray, amount: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Winner id and its total per row; rows without a valid candidate get (-1, 0).

    ``amount`` is float64 (B, N), what each valid candidate adds to its answer's total, or None
    for a count.
    """
    b, n = ids.shape
    key = _sort_keys(ids, ok)
    answer = key // n  # floor division: missing keys (-N + position) give -1
    position = key % n
    starts = np.ones((b, n), dtype=bool)
    starts[:, 1:] = answer[:, 1:] != answer[:, :-1]
    group = np.cumsum(starts, axis=1) - 1  # (B, N), group index within the row
    flat = (np.arange(b, dtype=np.int64)[:, None] * n + group).reshape(-1)
    sorted_ok = answer >= 0
    if amount is None:
        add = sorted_ok
    else:
        add = np.where(sorted_ok, np.take_along_axis(amount, position, axis=1), 0.0)
    # bincount adds in flat order, i.e. for each answer in the order of its positions in the row
    totals = np.bincount(flat, weights=add.reshape(-1), minlength=b * n).reshape(b, n)
    start_rows, start_groups = np.nonzero(starts)[0], group[starts]
    has = np.zeros((b, n), dtype=bool)
    has[start_rows, start_groups] = sorted_ok[starts]
    first = np.full((b, n), n, dtype=np.int64)
    first[start_rows, start_groups] = position[starts]
    totals = np.where(has, totals, -1.0)  # missing and unused groups can never win
    best = totals.max(axis=1)
    first_of_best = np.where(totals == best[:, None], first, n).min(axis=1)
    any_valid = best >= 0.0
    rows = np.arange(b)
    winner = np.where(any_valid, ids[rows, np.minimum(first_of_best, n - 1)], -1)
    return winner.astype(np.int64), np.where(any_valid, best, 0.0)


def majority_vote_reference(answer_ids: np.ndarray, valid: np.ndarray | None = None) -> VoteResult:
    """Most frequent answer id per row.

    Parameters
    ----------
    answer_ids : int32 or int64, shape (B, N)
        Answer ids; a negative id marks a missing candidate.
    valid : bool, shape (B, N), optional
        False marks a missing candidate in addition to negative ids.

    Returns
    -------
    VoteResult
        ``winner`` int64 (B,), ``count`` int64 (B,), ``agreement`` float64 (B,).
    """
    b, n = answer_ids.shape
    if b == 0 or n == 0:
        return VoteResult(np.full(b, -1, np.int64), np.zeros(b, np.int64), np.zeros(b, np.float64))
    ok = answer_ids >= 0
    if valid is not None:
        ok = ok & valid
    winner, count = _grouped_vote(answer_ids, ok, None)
    n_valid = ok.sum(axis=1)
    agreement = np.where(n_valid > 0, count / np.maximum(n_valid, 1), 0.0)
    return VoteResult(winner, count.astype(np.int64), agreement.astype(np.float64))


def weighted_vote_reference(answer_ids: np.ndarray, weights: np.ndarray) -> WeightedVoteResult:
    """Answer id with the largest total weight per row.

    Parameters
    ----------
    answer_ids : int32 or int64, shape (B, N)
        Answer ids; a negative id marks a missing candidate.
    weights : float16, float32 or float64, shape (B, N)
        Finite weights >= 0; NaN marks a missing candidate. Summed in float64, for each answer in
        the order of its positions in the row.

    Returns
    -------
    WeightedVoteResult
        ``winner`` int64 (B,), ``weight`` float64 (B,), ``share`` float64 (B,).
    """
    b, n = answer_ids.shape
    if b == 0 or n == 0:
        return WeightedVoteResult(
            np.full(b, -1, np.int64), np.zeros(b, np.float64), np.zeros(b, np.float64)
        )
    w = weights.astype(np.float64)
    ok = (answer_ids >= 0) & ~np.isnan(w)
    winner, weight = _grouped_vote(answer_ids, ok, w)
    total = np.where(ok, w, 0.0).sum(axis=1)
    share = np.where(total > 0.0, weight / np.where(total > 0.0, total, 1.0), 0.0)
    return WeightedVoteResult(winner, weight, share)


def best_of_n_reference(scores: np.ndarray, valid: np.ndarray | None = None) -> BestResult:
    """Highest score per row; ties to the lowest index.

    Parameters
    ----------
    scores : float16, float32 or float64, shape (B, N)
        NaN marks a missing candidate; -inf is a valid score below every other.
    valid : bool, shape (B, N), optional
        False marks a missing candidate in addition to NaN.

    Returns
    -------
    BestResult
        ``index`` int64 (B,), ``score`` (B,) in the dtype of ``scores``.
    """
    b, n = scores.shape
    if b == 0 or n == 0:
        return BestResult(np.full(b, -1, np.int64), np.full(b, np.nan, scores.dtype))
    ok = ~np.isnan(scores)
    if valid is not None:
        ok = ok & valid
    masked = np.where(ok, scores, -np.inf).astype(scores.dtype)
    best = masked.max(axis=1)
    hit = ok & (masked == best[:, None])
    found = hit.any(axis=1)
    index = np.where(found, hit.argmax(axis=1), -1).astype(np.int64)
    score = np.where(found, best, np.nan).astype(scores.dtype)
    return BestResult(index, score)


def prm_reduce_reference(step_scores: np.ndarray, offsets: np.ndarray, mode: str) -> np.ndarray:
    """Reduce ragged per-step scores to one score per candidate.

    Parameters
    ----------
    step_scores : float16, float32 or float64, shape (S,)
        Step scores of all candidates, candidate ``i`` owning
        ``step_scores[offsets[i]:offsets[i + 1]]``.
    offsets : int64, shape (n + 1,)
        Checked CSR offsets: ``offsets[0] == 0``, non-decreasing, ``offsets[-1] == S``.
    mode : {"min", "last", "mean", "prod", "sum_log"}

    Returns
    -------
    np.ndarray, float64, shape (n,)
        NaN for a candidate without steps.
    """
    n = offsets.shape[0] - 1
    out = np.full(n, np.nan, dtype=np.float64)
    lengths = np.diff(offsets)
    nonempty = lengths > 0
    if not nonempty.any():
        return out
    x = step_scores.astype(np.float64)
    starts = offsets[:-1][nonempty]
    # reduceat over the starts of non-empty candidates: the empty ones in between have no steps,
    # so each slice ends exactly where its candidate ends.
    if mode == "min":
        out[nonempty] = np.minimum.reduceat(x, starts)
    elif mode == "last":
        out[nonempty] = x[offsets[1:][nonempty] - 1]
    elif mode == "mean":
        out[nonempty] = np.add.reduceat(x, starts) / lengths[nonempty]
    elif mode == "prod":
        out[nonempty] = np.multiply.reduceat(x, starts)
    elif mode == "sum_log":
        with np.errstate(divide="ignore"):  # log(0) = -inf is the documented result
            out[nonempty] = np.add.reduceat(np.log(x), starts)
    else:  # the public operation validates modes; this guards direct callers
        raise ValueError(
            f"prm_reduce_reference: mode must be one of min/last/mean/prod/sum_log; got {mode!r}"
        )
    return out
