"""Shared by the strategies that sample whole solutions: sampling, answers and voting ids."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from uniscale.answers import canonical_key, extract_answer
from uniscale.cost import CostCounts
from uniscale.strategies.base import Strategy, Tracker
from uniscale.strategies.prompts import build_messages, is_placeholder

logger = logging.getLogger(__name__)


async def sample_solutions(
    tracker: Tracker,
    question: str,
    *,
    n: int,
    answer_kind: Any,
    max_tokens: int,
    temperature: float,
    top_p: float,
    seed: int | None,
    logprobs: bool,
) -> list[Any]:
    """n completions of the step-by-step prompt, in one ``generate`` call."""
    outs = await tracker.generate(
        [build_messages(question, answer_kind)],
        n=n,
        max_tokens=max_tokens,
        temperature=temperature,
        top_p=top_p,
        seed=seed,
        logprobs=logprobs,
    )
    tracker.counts.search_steps = max(tracker.counts.search_steps, 1)
    return list(outs[0])


def answers_of(texts: Sequence[str], answer_kind: Any) -> list[str | None]:
    """The answer each text states (see :func:`uniscale.answers.extract_answer`); None where it
    states only the instruction's placeholder (small models copy the instruction)."""
    out = []
    for text in texts:
        answer = extract_answer(text, answer_kind)
        out.append(None if answer is not None and is_placeholder(answer) else answer)
    return out


def vote_ids(answers: Sequence[str | None], answer_kind: Any) -> np.ndarray:
    """int64 (N,) voting ids: equal for answers with equal canonical keys, -1 for no answer."""
    from uniscale.aggregate import canonical_ids

    keys = [canonical_key(a, answer_kind) for a in answers]
    return np.asarray(canonical_ids(keys, equivalent="exact"), dtype=np.int64)


def first_with_id(ids: np.ndarray, winner: int) -> int | None:
    """Index of the first candidate whose id is ``winner``; None for the -1 sentinel."""
    if winner < 0:
        return None
    hits = np.flatnonzero(ids == winner)
    return int(hits[0]) if hits.size else None


def completion_logprobs(completion: Any, op: str) -> tuple[float, ...]:
    """The completion's token log-probabilities, or an error when the engine returned none."""
    lp = completion.logprobs
    if lp is None:
        raise ValueError(
            f"{op}: the engine returned no logprobs although they were asked for; the default "
            "SelfConfidenceVerifier needs them (pass another verifier)"
        )
    return tuple(lp)


def default_verifier(verifier: Any | None, engine: Any) -> Any:
    """``verifier``, or the embedded (weak) self-confidence verifier on ``engine``."""
    if verifier is not None:
        from uniscale.strategies.verifiers import Verifier

        if not isinstance(verifier, Verifier):
            raise TypeError(
                f"verifier must be a uniscale Verifier or None, got {type(verifier).__name__}"
            )
        return verifier
    from uniscale.strategies.verifiers import SelfConfidenceVerifier

    return SelfConfidenceVerifier(engine)


async def score_solutions(
    op: str,
    verifier: Any,
    tracker: Tracker,
    question: str,
    completions: Sequence[Any],
    *,
    reduce: str,
) -> np.ndarray:
    """Path score (float64 (n,)) of each whole solution; the verifier's work goes to ``tracker``.

    A verifier that reads generation log-probabilities sees each solution as one step (the
    token-to-step alignment of a whole completion is not known).
    """
    texts = [c.text for c in completions]
    # TODO(uniscale): engines return no token offsets, so a whole completion's log-probabilities
    # cannot be cut at its step delimiters; the self-confidence verifier scores it as one step.
    if verifier.uses_logprobs:
        lps = [[completion_logprobs(c, op)] for c in completions]
        scores = await verifier.score(question, [[t] for t in texts], logprobs=lps)
    else:
        scores = await verifier.score(question, texts)
    tracker.counts.merge(scores.counts)
    return scores.path_scores(reduce)


@dataclass(frozen=True)
class Sampled:
    """What an n-sample strategy has before it aggregates (from
    :meth:`NSampleStrategy.sample_and_score`).

    Attributes
    ----------
    tracker : Tracker
        Holds the work done so far (generation and scoring).
    verifier : Verifier or None
        The verifier used (the default one when none was given); None for unscored strategies.
    texts : list of str, length n
    answers : list of (str or None), length n
    scores : float64 (n,) ndarray or None
        Path scores; None for unscored strategies.
    """

    tracker: Tracker
    verifier: Any | None
    texts: list[str]
    answers: list[str | None]
    scores: np.ndarray | None


class NSampleStrategy(Strategy):
    """Base of the strategies that sample ``n`` whole solutions in one call and aggregate them
    (self-consistency, best-of-N, weighted vote): their cost estimate and their run's prelude.

    Subclasses are frozen dataclasses declaring ``n``, ``temperature`` and ``top_p`` (and
    ``reduce`` when ``uses_verifier``); solutions are scored only when ``uses_verifier``.
    """

    n: int
    temperature: float
    top_p: float

    def expected_counts(
        self,
        model: str,
        *,
        prompt_tokens: int,
        completion_tokens: int,
        verifier_model: str | None = None,
    ) -> CostCounts:
        self._check_expected(prompt_tokens, completion_tokens)
        counts = CostCounts(search_steps=1)
        counts.record_generation(model, [prompt_tokens], [[completion_tokens] * self.n])
        if self.uses_verifier and verifier_model is not None:
            counts.record_verification(verifier_model, self.n * (prompt_tokens + completion_tokens))
        return counts

    async def sample_and_score(
        self,
        question: str,
        engine: Any,
        *,
        verifier: Any | None,
        answer_kind: Any,
        max_tokens: int,
        seed: int | None,
    ) -> Sampled:
        """Check the run's arguments, sample ``n`` solutions, extract their answers and, when the
        strategy uses a verifier, score them (``verifier`` or the default one; ``self.reduce``).
        """
        self._check_run(question, max_tokens, seed)
        verifier = default_verifier(verifier, engine) if self.uses_verifier else None
        tracker = Tracker(engine)
        outs = await sample_solutions(
            tracker,
            question,
            n=self.n,
            answer_kind=answer_kind,
            max_tokens=max_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            seed=seed,
            logprobs=verifier is not None and verifier.uses_logprobs,
        )
        texts = [c.text for c in outs]
        answers = answers_of(texts, answer_kind)
        scores = None
        if verifier is not None:
            scores = await score_solutions(
                f"{type(self).__name__}.run",
                verifier,
                tracker,
                question,
                outs,
                reduce=self.reduce,  # type: ignore[attr-defined]
            )
        return Sampled(tracker, verifier, texts, answers, scores)
