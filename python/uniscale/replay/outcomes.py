"""Seeded outcome sampling: every (trial, query, arm) outcome of a replay, drawn in bulk.

A trial is one (seed, pass) pair. In a trial, arm (config c, n) answers query q with the majority
vote (:func:`uniscale.aggregate.majority_vote`) of n samples drawn without replacement from the
ones recorded for (q, c). The draw comes from a generator seeded by (seed, pass, config id, n),
so an outcome does not depend on which other arms, seeds or passes are in the run, and repeated
trials show the spread the real samples have.

Vote ties go to the answer drawn first (the samples are relabelled by their first position in the
draw before voting, and the vote breaks ties to the lowest label), i.e. uniformly at random.
Samples without an answer (null) do not vote; an arm whose drawn samples all lack an answer is
wrong. When a query recorded fewer samples than n, all of them are used.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from uniscale.replay.arms import ReplayArm
from uniscale.replay.trace import Trace

logger = logging.getLogger(__name__)

__all__ = ["SampledOutcomes", "TraceArrays", "answer_key", "sample_outcomes", "vote_mixture"]


def answer_key(answer: str | None, kind: str) -> str | None:
    """The key under which answers vote together (None: the sample does not vote).

    ``"exact"`` compares strings, ``"number"`` compares numbers to nine significant digits, any
    other kind goes through :func:`uniscale.answers.canonical_key`.
    """
    if answer is None:
        return None
    if kind == "exact":
        return answer
    if kind == "number":
        try:
            return f"{float(answer):.9g}"
        except ValueError:
            return answer
    from uniscale.answers import canonical_key

    return canonical_key(answer, kind)


@dataclass(frozen=True)
class TraceArrays:
    """A trace's samples as padded arrays, one block per configuration.

    Attributes
    ----------
    config_ids : tuple of str, length C
    ids : tuple of C arrays, int64, shape (Q, M_c)
        Answer id per sample, shared by all configurations of a query (so votes can mix
        configurations); -1 for a sample without an answer and for padding.
    correct : tuple of C arrays, bool, shape (Q, M_c)
    tokens : tuple of C arrays, int64, shape (Q, M_c)
        Output tokens per sample; 0 for padding.
    scores : tuple of C arrays (float64, shape (Q, M_c), NaN for padding) or None entries
    count : np.ndarray, int64, shape (Q, C)
        Recorded samples per query and configuration.
    prompt_tokens : np.ndarray, int64, shape (Q, C)
    """

    qids: tuple[str, ...]
    config_ids: tuple[str, ...]
    ids: tuple[np.ndarray, ...]
    correct: tuple[np.ndarray, ...]
    tokens: tuple[np.ndarray, ...]
    scores: tuple[np.ndarray | None, ...]
    count: np.ndarray
    prompt_tokens: np.ndarray

    @classmethod
    def from_trace(cls, trace: Trace) -> TraceArrays:
        """Pack a trace. Every query must have an outcome for every configuration.

        Raises
        ------
        ValueError
            A query lacks a configuration (restrict with :meth:`Trace.complete_queries`).
        """
        Q, C = len(trace.queries), len(trace.configs)
        if Q == 0:
            raise ValueError("TraceArrays.from_trace: the trace has no queries")
        count = np.zeros((Q, C), dtype=np.int64)
        prompt = np.zeros((Q, C), dtype=np.int64)
        for qi, q in enumerate(trace.queries):
            for ci, cid in enumerate(trace.config_ids):
                o = q.outcomes.get(cid)
                if o is None:
                    raise ValueError(
                        f"TraceArrays.from_trace: query {q.qid!r} has no outcome for config "
                        f"{cid!r}; replay needs complete queries (Trace.complete_queries())"
                    )
                count[qi, ci] = o.n_samples
                prompt[qi, ci] = o.prompt_tokens
        ids, correct, tokens, scores = [], [], [], []
        vocab: list[dict[str, int]] = [{} for _ in range(Q)]
        for ci, cid in enumerate(trace.config_ids):
            M = max(1, int(count[:, ci].max()))
            i_arr = np.full((Q, M), -1, dtype=np.int64)
            c_arr = np.zeros((Q, M), dtype=bool)
            t_arr = np.zeros((Q, M), dtype=np.int64)
            has_scores = any(q.outcomes[cid].scores is not None for q in trace.queries)
            s_arr = np.full((Q, M), np.nan) if has_scores else None
            for qi, q in enumerate(trace.queries):
                o = q.outcomes[cid]
                voc = vocab[qi]
                for j, a in enumerate(o.answers):
                    key = answer_key(a, trace.answer_kind)
                    if key is not None:
                        i_arr[qi, j] = voc.setdefault(key, len(voc))
                n = o.n_samples
                c_arr[qi, :n] = o.correct
                t_arr[qi, :n] = o.tokens
                if s_arr is not None:
                    s_arr[qi, :n] = o.scores if o.scores is not None else np.nan
            ids.append(i_arr)
            correct.append(c_arr)
            tokens.append(t_arr)
            scores.append(s_arr)
        return cls(
            tuple(q.qid for q in trace.queries),
            trace.config_ids,
            tuple(ids),
            tuple(correct),
            tuple(tokens),
            tuple(scores),
            count,
            prompt,
        )

    @property
    def n_queries(self) -> int:
        return len(self.qids)

    def config_index(self, config_id: str) -> int:
        """Position of a configuration (KeyError naming the known ones otherwise)."""
        try:
            return self.config_ids.index(config_id)
        except ValueError:
            raise KeyError(
                f"TraceArrays: unknown config {config_id!r}; known: {list(self.config_ids)}"
            ) from None


@dataclass(frozen=True)
class SampledOutcomes:
    """Outcomes of every arm on every query in every trial.

    Attributes
    ----------
    trials : np.ndarray, int64, shape (R, 2)
        (seed, pass) of each trial.
    correct : np.ndarray, bool, shape (R, Q, K)
        Whether the arm's voted answer is right.
    agreement : np.ndarray, float32, shape (R, Q, K)
        Share of the voting samples that gave the winning answer (0 when none voted).
    verifier : np.ndarray, float32, shape (R, Q, K), or None
        Mean verifier score of the samples behind the winning answer, when the trace has scores.
    used : np.ndarray, int16, shape (R, Q, K)
        Samples drawn (n, or fewer when fewer were recorded).
    out_tokens, max_tokens, sq_tokens : np.ndarray, int64, shape (R, Q, K)
        Sum, maximum and sum of squares of the drawn samples' output tokens (for the cost
        models: tokens and dollars need the sum, eFLOPs all three).
    prompt_tokens : np.ndarray, int64, shape (Q, K)
    """

    trials: np.ndarray
    correct: np.ndarray
    agreement: np.ndarray
    verifier: np.ndarray | None
    used: np.ndarray
    out_tokens: np.ndarray
    max_tokens: np.ndarray
    sq_tokens: np.ndarray
    prompt_tokens: np.ndarray

    @property
    def shape(self) -> tuple[int, int, int]:
        """(R, Q, K)."""
        return self.correct.shape  # type: ignore[return-value]

    def trial_index(self, seed: int, pass_: int) -> int:
        """Row of trial (seed, pass)."""
        hit = np.flatnonzero((self.trials[:, 0] == seed) & (self.trials[:, 1] == pass_))
        if hit.size == 0:
            raise KeyError(f"SampledOutcomes: no trial (seed={seed}, pass={pass_})")
        return int(hit[0])


def _first_position_labels(ids: np.ndarray) -> np.ndarray:
    """Relabel each row's ids by the position of their first occurrence: (B, n) -> (B, n)."""
    eq = ids[:, :, None] == ids[:, None, :]
    return np.argmax(eq, axis=2).astype(np.int64)


def _rng(seed: int, pass_: int, config_id: str, n: int) -> np.random.Generator:
    tag = zlib.crc32(config_id.encode("utf-8"))
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(pass_), tag, int(n)]))


def sample_outcomes(
    arrays: TraceArrays,
    arms: Sequence[ReplayArm],
    trials: Sequence[tuple[int, int]],
    *,
    progress: Callable[[int], None] | None = None,
) -> SampledOutcomes:
    """Draw every arm's outcome on every query in every trial.

    Parameters
    ----------
    arrays : TraceArrays
    arms : sequence of ReplayArm, length K
    trials : sequence of (seed, pass) pairs, length R
        Seeds and passes are non-negative ints; pairs must be distinct.
    progress : callable, optional
        Called with 1 after each arm is done (for a progress bar).

    Returns
    -------
    SampledOutcomes

    Raises
    ------
    ValueError
        No arms or trials, a repeated or negative trial.
    KeyError
        An arm names a configuration the arrays lack.
    """
    from uniscale.aggregate import majority_vote

    if not arms:
        raise ValueError("sample_outcomes: arms must not be empty")
    tr = _check_trials("sample_outcomes", trials)
    cidx = [arrays.config_index(a.config_id) for a in arms]
    R, Q, K = tr.shape[0], arrays.n_queries, len(arms)
    correct = np.zeros((R, Q, K), dtype=bool)
    agreement = np.zeros((R, Q, K), dtype=np.float32)
    has_scores = any(s is not None for s in arrays.scores)
    verifier = np.zeros((R, Q, K), dtype=np.float32) if has_scores else None
    used = np.zeros((R, Q, K), dtype=np.int16)
    out_tokens = np.zeros((R, Q, K), dtype=np.int64)
    max_tokens = np.zeros((R, Q, K), dtype=np.int64)
    sq_tokens = np.zeros((R, Q, K), dtype=np.int64)
    prompt = arrays.prompt_tokens[:, cidx].copy()
    qrow = np.arange(Q)[None, :, None]
    for k, (arm, ci) in enumerate(zip(arms, cidx, strict=True)):
        scores = arrays.scores[ci]
        order, real, d_ids, d_corr, d_tok = _draw(arrays, ci, arm, tr)
        n = order.shape[2]
        valid = d_ids >= 0
        labels = _first_position_labels(d_ids.reshape(R * Q, n))
        vote = majority_vote(labels, valid.reshape(R * Q, n))
        winner = np.asarray(vote.winner).reshape(R, Q)
        has = winner >= 0
        w = np.where(has, winner, 0)[..., None]
        correct[:, :, k] = has & np.take_along_axis(d_corr, w, axis=2)[..., 0]
        agreement[:, :, k] = np.asarray(vote.agreement, dtype=np.float32).reshape(R, Q)
        if verifier is not None and scores is not None:
            lab = labels.reshape(R, Q, n)
            behind = valid & (lab == w)
            sc = np.where(behind, np.nan_to_num(scores[qrow, order]), 0.0)
            verifier[:, :, k] = np.where(has, sc.sum(2) / np.maximum(behind.sum(2), 1), 0.0)
        used[:, :, k] = real.sum(axis=2)
        out_tokens[:, :, k] = d_tok.sum(axis=2)
        max_tokens[:, :, k] = d_tok.max(axis=2)
        sq_tokens[:, :, k] = (d_tok * d_tok).sum(axis=2)
        if progress is not None:
            progress(1)
    return SampledOutcomes(
        tr, correct, agreement, verifier, used, out_tokens, max_tokens, sq_tokens, prompt
    )


def _check_trials(op: str, trials: Sequence[tuple[int, int]]) -> np.ndarray:
    tr = np.asarray(list(trials), dtype=np.int64)
    if tr.ndim != 2 or tr.shape[1] != 2 or tr.shape[0] == 0:
        raise ValueError(
            f"{op}: trials must be a non-empty list of (seed, pass) pairs, got shape {tr.shape}"
        )
    if np.any(tr < 0):
        raise ValueError(f"{op}: seeds and passes must be >= 0")
    if len({tuple(t) for t in tr.tolist()}) != len(tr):
        raise ValueError(f"{op}: trials must be distinct (seed, pass) pairs")
    return tr


def _draw(
    arrays: TraceArrays, ci: int, arm: ReplayArm, tr: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One arm's draws in every trial: (order, real, ids, correct, tokens), each (R, Q, n).

    ``order`` holds sample positions; ``real`` is False where the query recorded fewer than n
    samples (then ids are -1, correct False and tokens 0).
    """
    ids, corr, toks = arrays.ids[ci], arrays.correct[ci], arrays.tokens[ci]
    Q, M = ids.shape
    cnt = arrays.count[:, ci]
    n = min(arm.n, M)
    u = np.stack([_rng(s, p, arm.config_id, arm.n).random((Q, M)) for s, p in tr])
    u[:, np.arange(M)[None, :] >= cnt[:, None]] = 2.0  # padding sorts last
    order = np.argsort(u, axis=2, kind="stable")[:, :, :n]  # (R, Q, n)
    real = order < cnt[None, :, None]
    qrow = np.arange(Q)[None, :, None]
    d_ids = np.where(real, ids[qrow, order], -1)
    d_corr = corr[qrow, order] & real
    d_tok = np.where(real, toks[qrow, order], 0)
    return order, real, d_ids, d_corr, d_tok


def vote_mixture(
    arrays: TraceArrays, parts: Sequence[ReplayArm], trials: Sequence[tuple[int, int]]
) -> tuple[np.ndarray, np.ndarray]:
    """One majority vote over the samples of several arms together (the MoT "mixed" vote).

    Each part draws exactly the samples it draws as an arm of :func:`sample_outcomes` in the same
    trial (same seeding), so the cost of the mixture is the sum of its parts' costs there.

    Parameters
    ----------
    arrays : TraceArrays
    parts : sequence of ReplayArm
        At least one; answers vote together across them (answer ids are shared per query).
    trials : sequence of (seed, pass)

    Returns
    -------
    (correct, agreement)
        bool (R, Q) and float32 (R, Q), as in :class:`SampledOutcomes`.
    """
    from uniscale.aggregate import majority_vote

    if not parts:
        raise ValueError("vote_mixture: parts must not be empty")
    tr = _check_trials("vote_mixture", trials)
    drawn = [_draw(arrays, arrays.config_index(a.config_id), a, tr) for a in parts]
    d_ids = np.concatenate([d[2] for d in drawn], axis=2)
    d_corr = np.concatenate([d[3] for d in drawn], axis=2)
    R, Q, n = d_ids.shape
    valid = d_ids >= 0
    labels = _first_position_labels(d_ids.reshape(R * Q, n))
    vote = majority_vote(labels, valid.reshape(R * Q, n))
    winner = np.asarray(vote.winner).reshape(R, Q)
    has = winner >= 0
    w = np.where(has, winner, 0)[..., None]
    correct = has & np.take_along_axis(d_corr, w, axis=2)[..., 0]
    agreement = np.asarray(vote.agreement, dtype=np.float32).reshape(R, Q)
    return correct, agreement
