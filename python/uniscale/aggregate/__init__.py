"""Answer aggregation over N candidates per request: votes, best-of-N, PRM step reduction.

Every test-time-scaling strategy ends here. The operations take a batch of B requests with N
candidates each and run on one of three backends: ``numpy`` (the references in
:mod:`uniscale.aggregate.reference`, which define the semantics below), ``torch`` (sort and
scatter, CPU or CUDA) and ``triton`` (kernels in ``uniscale.kernels``, for CUDA tensors).
``backend="auto"`` chooses by the input: numpy arrays and CPU tensors → numpy (the fastest on
CPU, see ``benchmarks/results/aggregate.md``), CUDA tensors → Triton, or torch with one logged
warning when Triton cannot run, tensors on other devices → torch. A backend named explicitly that
cannot run raises :class:`uniscale.errors.BackendUnavailableError` with the reason. numpy in gives
numpy out; a tensor in gives tensors out on its device. Inputs are never modified. Importing this
package imports neither torch nor triton.

Semantics (every backend)
-------------------------
Missing candidates
    A negative answer id (conventionally -1), ``valid == False``, a NaN weight (weighted vote) or
    a NaN score (best-of-N) marks a missing candidate: it neither votes nor wins.
Tie rule of the votes
    Among answers with the same count (majority) or the same float64 total weight (weighted),
    the one whose first appearance in the row comes first wins. Weighted totals are sums in
    float64; backends add in different orders, so totals equal up to rounding can resolve
    differently across backends, while totals that are exactly equal in any order (counts,
    weights that are small dyadic fractions) resolve identically.
Weights
    Finite and >= 0, or NaN for a missing candidate; a negative or infinite weight raises
    ValueError naming its position (this check reads the data, one reduction on a GPU). A row
    whose valid weights are all zero returns its first valid answer with weight 0.0, share 0.0.
best_of_n
    Highest score, ties to the lowest index. -inf is a valid score below every other: a row of
    only -inf returns index of its first valid candidate and score -inf. +inf is valid too.
prm_reduce
    ``min``, ``last``, ``mean``, ``prod`` and ``sum_log`` (sum of natural logs) over each
    candidate's steps ``step_scores[offsets[i]:offsets[i + 1]]``, in float64. ``sum_log`` needs
    scores >= 0 (a negative one raises ValueError); a zero step gives -inf. A NaN step makes the
    result NaN (for ``last`` only when it is the last step). A candidate without steps gives NaN.
Sentinels for rows with nothing valid
    winner / index = -1, count / weight = 0, agreement / share = 0.0, score = NaN.
Limits
    N <= ``MAX_CANDIDATES`` (4096) per row and B <= ``MAX_ROWS`` (2**31 - 1); larger inputs raise
    ValueError, nothing is truncated. The Triton vote does N² comparisons per row.
Shapes and dtypes
    Ids int32/int64, weights and scores float16/float32/float64 (bfloat16 for tensors),
    ``valid`` bool, all (B, N); a one-dimensional (N,) input is one row and gives scalars.
    Outputs: winner/count/index int64, agreement/weight/share float64, best score in the input's
    dtype, ``prm_reduce`` float64 (n,).

:func:`canonical_ids` turns one request's answer strings into the ids that the votes take.
"""

from __future__ import annotations

from uniscale.aggregate._validate import MAX_CANDIDATES, MAX_ROWS, PRM_MODES
from uniscale.aggregate.canonical import canonical_ids
from uniscale.aggregate.ops import BACKENDS, best_of_n, majority_vote, prm_reduce, weighted_vote
from uniscale.aggregate.reference import (
    best_of_n_reference,
    majority_vote_reference,
    prm_reduce_reference,
    weighted_vote_reference,
)
from uniscale.aggregate.results import BestResult, VoteResult, WeightedVoteResult

__all__ = [
    "BACKENDS",
    "MAX_CANDIDATES",
    "MAX_ROWS",
    "PRM_MODES",
    "BestResult",
    "VoteResult",
    "WeightedVoteResult",
    "best_of_n",
    "best_of_n_reference",
    "canonical_ids",
    "majority_vote",
    "majority_vote_reference",
    "prm_reduce",
    "prm_reduce_reference",
    "weighted_vote",
    "weighted_vote_reference",
]
