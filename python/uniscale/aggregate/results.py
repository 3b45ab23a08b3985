"""Result types returned by the aggregation operations.

They are named tuples so that callers can either unpack them (``winner, count, agreement =
majority_vote(ids)``) or read fields by name. Each field is an array of the caller's kind: a numpy
array for numpy input, a torch tensor on the input's device for torch input.
"""

from __future__ import annotations

from typing import Any, NamedTuple

__all__ = ["VoteResult", "WeightedVoteResult", "BestResult"]


class VoteResult(NamedTuple):
    """Outcome of :func:`uniscale.aggregate.majority_vote`.

    Attributes
    ----------
    winner : int64, shape (B,)
        The winning answer id per row; -1 where the row has no valid candidate.
    count : int64, shape (B,)
        How many valid candidates gave the winning answer; 0 where nothing is valid.
    agreement : float64, shape (B,)
        ``count / (number of valid candidates)``; 0.0 where nothing is valid.
    """

    winner: Any
    count: Any
    agreement: Any


class WeightedVoteResult(NamedTuple):
    """Outcome of :func:`uniscale.aggregate.weighted_vote`.

    Attributes
    ----------
    winner : int64, shape (B,)
        The answer id with the largest total weight; -1 where the row has no valid candidate.
    weight : float64, shape (B,)
        The winner's total weight; 0.0 where nothing is valid.
    share : float64, shape (B,)
        ``weight / (total weight of the row's valid candidates)``; 0.0 where nothing is valid or
        where every valid weight is zero.
    """

    winner: Any
    weight: Any
    share: Any


class BestResult(NamedTuple):
    """Outcome of :func:`uniscale.aggregate.best_of_n`.

    Attributes
    ----------
    index : int64, shape (B,)
        Position of the best candidate in its row; -1 where nothing is valid.
    score : shape (B,), the dtype of the scores
        The best score; NaN where nothing is valid.
    """

    index: Any
    score: Any
