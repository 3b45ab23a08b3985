"""PRM-guided step-level beam search with optional path-aware early exit (docs/method.md).

``qp`` independent subtrees grow step by step. At every level each kept path is extended by ``cp``
candidate next steps: the engine continues the path's text (assistant prefill,
``continue_final=True``) and stops at the step delimiter. The generation of all paths of a level
is ONE ``generate`` call, and all new partial paths are scored in ONE verifier call. The ``bs``
best-scored children of each subtree survive; a child that states a final answer, that produced
an empty step, that used up the token budget or that reaches ``max_depth`` is finished.

Early exit: with H_max = ``max_depth``, v_sup the verifier's largest step score, V the mean step
score of a path at depth j and V_max the best mean step score of a finished path, the path is
dropped when (j·V + (H_max − j)·v_sup) / H_max < V_max — even if every remaining step scored v_sup
its mean could not beat the best finished path (the bound is the largest mean the path could end
with at any depth up to H_max). A dropped path's slot is retired: its subtree keeps one path fewer
from then on. With ``bs = 1`` a subtree is a chain and an early exit only cuts it short, so, for
an engine whose samples for a prompt do not depend on the other prompts of the batch, early exit
never raises any cost; with ``bs > 1`` the remaining paths of the subtree differ and this holds
on average only.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from uniscale.cost import CostCounts, ModelSpec
from uniscale.strategies._sampling import (
    answers_of,
    completion_logprobs,
    default_verifier,
    vote_ids,
)
from uniscale.strategies.base import Strategy, Tracker, check_float, check_int
from uniscale.strategies.prompts import build_messages, states_final_answer
from uniscale.strategies.result import StrategyResult
from uniscale.strategies.verifiers.base import REDUCE_MODES

logger = logging.getLogger(__name__)

__all__ = ["BeamSearch"]


@dataclass
class _Path:
    subtree: int
    text: str = ""  # what the engine continues: the steps with their delimiters
    steps: list[str] = field(default_factory=list)
    logprobs: list[tuple[float, ...]] = field(default_factory=list)
    tokens: int = 0
    step_scores: list[float] = field(default_factory=list)
    value: float = math.nan  # path score under ``reduce``
    finished: bool = False

    @property
    def mean(self) -> float:
        return float(np.mean(self.step_scores)) if self.step_scores else math.nan


@dataclass(frozen=True)
class BeamSearch(Strategy):
    """Step-level search guided by a verifier's step scores.

    Parameters
    ----------
    qp : int
        Independent parallel subtrees.
    cp : int
        Candidate next steps generated per kept path and level.
    bs : int
        Paths kept per subtree and level.
    max_depth : int
        H_max, the most steps a path may take.
    early_exit : bool
        Drop paths whose optimistic final value cannot beat the best finished path.
    select : {"score", "vote"}
        "score": the finished path with the best path score (among those stating an answer)
        gives the answer. "vote": each subtree's best-scored finished path votes; majority wins.
    delimiter : str
        Text that ends a step (a blank line by default); generation stops there.
    temperature, top_p : float
    reduce : {"last", "min", "mean", "prod", "sum_log"}
        How step scores become a path score for selection (``aggregate.prm_reduce``). Early exit
        always uses the mean step score, as its bound requires.
    step_tokens : int or None
        Most tokens per step; None: up to the smallest remaining budget of the level's paths.
    """

    qp: int = 1
    cp: int = 4
    bs: int = 1
    max_depth: int = 8
    early_exit: bool = False
    select: str = "score"
    delimiter: str = "\n\n"
    temperature: float = 0.7
    top_p: float = 1.0
    reduce: str = "last"
    step_tokens: int | None = None

    name: ClassVar[str] = "beam_search"
    uses_verifier: ClassVar[bool] = True

    def __post_init__(self) -> None:
        op = "BeamSearch"
        for pname in ("qp", "cp", "bs", "max_depth"):
            check_int(op, pname, getattr(self, pname))
        if not isinstance(self.early_exit, bool):
            raise TypeError(f"{op}: early_exit must be a bool, got {self.early_exit!r}")
        if self.select not in ("score", "vote"):
            raise ValueError(f"{op}: select must be 'score' or 'vote', got {self.select!r}")
        if not isinstance(self.delimiter, str) or not self.delimiter:
            raise ValueError(f"{op}: delimiter must be a non-empty str, got {self.delimiter!r}")
        check_float(op, "temperature", self.temperature, lo=0.0)
        check_float(op, "top_p", self.top_p, lo=0.0, hi=1.0)
        if self.reduce not in REDUCE_MODES:
            raise ValueError(f"{op}: reduce must be one of {REDUCE_MODES}, got {self.reduce!r}")
        if self.step_tokens is not None:
            check_int(op, "step_tokens", self.step_tokens)

    def expected_counts(
        self,
        model: str,
        *,
        prompt_tokens: int,
        completion_tokens: int,
        verifier_model: str | None = None,
    ) -> CostCounts:
        """Expected work when every path runs ``max_depth`` steps of equal length (no path ends
        early, no early exit): an upper estimate of the search."""
        self._check_expected(prompt_tokens, completion_tokens)
        depth = self.max_depth
        step = max(1, completion_tokens // depth)
        counts = CostCounts(search_steps=depth)
        for d in range(1, depth + 1):
            if d == 1:
                prompts, n = [prompt_tokens], self.qp * self.cp
            else:
                prompts, n = [prompt_tokens + (d - 1) * step] * (self.qp * self.bs), self.cp
            counts.record_generation(model, prompts, [[step] * n for _ in prompts])
            if verifier_model is not None:
                children = self.qp * self.cp * (1 if d == 1 else self.bs)
                counts.record_verification(verifier_model, children * (prompt_tokens + d * step))
        return counts

    async def run(
        self,
        question: str,
        engine: Any,
        *,
        verifier: Any | None = None,
        answer_kind: Any = "math",
        max_tokens: int = 256,
        seed: int | None = None,
        specs: Mapping[str, ModelSpec] | None = None,
    ) -> StrategyResult:
        op = "BeamSearch.run"
        self._check_run(question, max_tokens, seed)
        verifier = default_verifier(verifier, engine)
        tracker = Tracker(engine)
        active = [_Path(subtree=s) for s in range(self.qp)]
        finished: list[_Path] = []
        # Paths a subtree may keep; an early exit retires its path's slot for good, so that the
        # search it saves is not spent elsewhere in the subtree.
        capacity = [self.bs] * self.qp
        best_finished = -math.inf  # V_max
        early_exits = 0
        depth = 0
        while active and depth < self.max_depth:
            depth += 1
            # One call per level has one max_tokens: the smallest budget left, so that no path
            # overshoots max_tokens. A path cut short by it is continued at the next level
            # where it stopped (its cut step is scored as a step).
            remaining = min(max_tokens - p.tokens for p in active)
            step_max = remaining if self.step_tokens is None else min(self.step_tokens, remaining)
            if depth == 1:
                # The subtrees share their root: one prompt, qp·cp samples, dealt out cp per
                # subtree (qp copies of one prompt would be prefilled qp times and, seeded
                # alike, could repeat each other's samples).
                prompts = [build_messages(question, answer_kind)]
                n = self.cp * len(active)
            else:
                prompts = [build_messages(question, answer_kind, p.text) for p in active]
                n = self.cp
            outs = await tracker.generate(
                prompts,
                n=n,
                max_tokens=step_max,
                temperature=self.temperature,
                top_p=self.top_p,
                stop=[self.delimiter],
                # one seed per level, so that levels do not repeat each other's samples
                seed=None if seed is None else seed + depth - 1,
                logprobs=verifier.uses_logprobs,
                continue_final=depth > 1,
            )
            tracker.counts.search_steps = depth
            if depth == 1:
                outs = [outs[0][k * self.cp : (k + 1) * self.cp] for k in range(len(active))]
            children = [
                self._child(op, parent, c, depth, max_tokens, verifier.uses_logprobs)
                for parent, samples in zip(active, outs, strict=True)
                for c in samples
            ]
            await self._score(question, verifier, tracker, children)
            active = []
            for s in range(self.qp):
                mine = [c for c in children if c.subtree == s]
                # best first; NaN (no score) last; ties keep generation order (stable sort)
                mine.sort(key=lambda c: -c.value if not math.isnan(c.value) else math.inf)
                for c in mine[: capacity[s]]:
                    if c.finished:
                        finished.append(c)
                        if not math.isnan(c.mean):
                            best_finished = max(best_finished, c.mean)
                    else:
                        active.append(c)
            if self.early_exit and finished:
                kept = []
                v_sup = float(verifier.max_score)
                for p in active:
                    j = len(p.step_scores)
                    bound = (j * p.mean + (self.max_depth - j) * v_sup) / self.max_depth
                    if bound < best_finished:
                        early_exits += 1
                        capacity[p.subtree] -= 1
                    else:
                        kept.append(p)
                active = kept
        finished.extend(active)  # paths left at the depth limit end there
        return self._result(finished, answer_kind, tracker, verifier, specs, early_exits, depth)

    def _child(
        self,
        op: str,
        parent: _Path,
        completion: Any,
        depth: int,
        max_tokens: int,
        want_logprobs: bool,
    ) -> _Path:
        step = completion.text.strip()
        lp = completion_logprobs(completion, op) if want_logprobs else ()
        child = _Path(
            subtree=parent.subtree,
            text=parent.text,
            steps=list(parent.steps),
            logprobs=list(parent.logprobs),
            tokens=parent.tokens + completion.completion_tokens,
        )
        if step:
            # the stop string is not returned; put the delimiter back after a completed step
            # so that the next step starts on a new paragraph; a step cut by the token limit is
            # continued where it stopped
            ended = completion.finish_reason == "stop"
            child.text = parent.text + completion.text + (self.delimiter if ended else "")
            child.steps.append(step)
            child.logprobs.append(lp)
        child.finished = (
            not step
            or states_final_answer(step)
            or child.tokens >= max_tokens
            or depth >= self.max_depth
        )
        return child

    async def _score(
        self, question: str, verifier: Any, tracker: Tracker, children: list[_Path]
    ) -> None:
        scored = [c for c in children if c.steps]
        if not scored:
            return
        if verifier.uses_logprobs:
            scores = await verifier.score(
                question, [c.steps for c in scored], logprobs=[c.logprobs for c in scored]
            )
        else:
            scores = await verifier.score(question, [c.steps for c in scored])
        tracker.counts.merge(scores.counts)
        values = scores.path_scores(self.reduce)
        for i, c in enumerate(scored):
            c.step_scores = scores.steps_of(i).tolist()
            c.value = float(values[i])

    def _result(
        self,
        finished: list[_Path],
        answer_kind: Any,
        tracker: Tracker,
        verifier: Any,
        specs: Mapping[str, ModelSpec] | None,
        early_exits: int,
        depth: int,
    ) -> StrategyResult:
        from uniscale.aggregate import best_of_n, majority_vote

        texts = [self.delimiter.join(p.steps) for p in finished]
        answers = answers_of(texts, answer_kind)
        values = np.array([p.value for p in finished], dtype=np.float64)
        valid = np.array([a is not None for a in answers], dtype=bool)
        chosen: int | None = None
        agreement: float | None = None
        if finished and self.select == "score":
            index = int(best_of_n(values[None, :], valid[None, :]).index[0])
            chosen = index if index >= 0 else None
        elif finished:
            # each subtree's best-scored finished path with an answer casts one vote
            voters = []
            for s in range(self.qp):
                mine = [i for i, p in enumerate(finished) if p.subtree == s and valid[i]]
                if mine:
                    sub = values[mine]
                    pick = int(best_of_n(sub[None, :]).index[0])
                    voters.append(mine[pick if pick >= 0 else 0])
            if voters:
                ids = vote_ids([answers[i] for i in voters], answer_kind)
                vote = majority_vote(ids[None, :])
                winner = int(vote.winner[0])
                agreement = float(vote.agreement[0])
                if winner >= 0:
                    chosen = voters[int(np.flatnonzero(ids == winner)[0])]
        return StrategyResult(
            answer=answers[chosen] if chosen is not None else None,
            candidates=texts,
            candidate_answers=answers,
            verifier_scores=values,
            chosen=chosen,
            agreement=agreement,
            cost=tracker.cost(verifier, specs),
            strategy=self.name,
            extra={
                "depth": depth,
                "early_exits": early_exits,
                "step_scores": [list(p.step_scores) for p in finished],
                "subtrees": [p.subtree for p in finished],
                "path_tokens": [p.tokens for p in finished],
            },
        )
