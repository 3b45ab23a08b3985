"""The embedded default verifier: the policy model's confidence in its own steps.

It needs no further model. This is a WEAK verifier: a model's confidence in its own tokens says how
fluent a step is, not whether it is correct, and small models are often confidently wrong. It is
here so that best-of-N, weighted vote and beam search run anywhere; use a process reward model
(:class:`~uniscale.strategies.verifiers.VLLMRewardVerifier`) where one can be served.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from uniscale.cost import CostCounts
from uniscale.strategies.verifiers.base import Solution, StepScores, Verifier

logger = logging.getLogger(__name__)

__all__ = ["SelfConfidenceVerifier"]

_JUDGE_TEMPLATE = (
    "Problem:\n{question}\n\nProposed solution so far:\n{steps}\n\n"
    "Is the last step of this solution correct? Answer Yes or No."
)


class SelfConfidenceVerifier(Verifier):
    """Step score = exp(mean token log-probability) the policy model gave the step (weak).

    With ``logprobs`` (what the strategies pass: the log-probabilities returned when the step was
    generated) scoring costs nothing. A step without tokens scores 1.0 (no evidence against it).

    Without ``logprobs`` the verifier asks ``engine`` for each step prefix whether the last step is
    correct, greedily and for one token: the step scores p(Yes), read from that token's
    log-probability (p if the token is "Yes", 1 − p if it is "No", 0.5 otherwise). That costs one
    prefill per step, recorded on the engine's model.

    The judgement is weak either way (see the module docstring).

    Parameters
    ----------
    engine : Engine or None
        Needed only when scores are asked for without ``logprobs``.
    delimiter : str
        Step delimiter for solutions given as one text.
    """

    name = "self_confidence"
    max_score = 1.0
    uses_logprobs = True

    def __init__(self, engine: Any | None = None, *, delimiter: str = "\n\n") -> None:
        if not isinstance(delimiter, str) or not delimiter:
            raise ValueError(
                f"SelfConfidenceVerifier: delimiter must be a non-empty str, got {delimiter!r}"
            )
        self.engine = engine
        self.delimiter = delimiter

    async def score(
        self,
        question: str,
        solutions: Sequence[Solution],
        *,
        logprobs: Sequence[Sequence[Sequence[float]]] | None = None,
    ) -> StepScores:
        op = "SelfConfidenceVerifier.score"
        if not isinstance(question, str):
            raise TypeError(f"{op}: question must be a str, got {type(question).__name__}")
        if logprobs is not None:
            if isinstance(solutions, str) or len(logprobs) != len(solutions):
                raise ValueError(
                    f"{op}: logprobs must hold one list of steps per solution; got "
                    f"{len(logprobs)} for {len(solutions)} solutions"
                )
            return StepScores.from_lists(
                [self._from_logprobs(op, i, lp) for i, lp in enumerate(logprobs)]
            )
        steps = self._steps(op, solutions)
        if self.engine is None:
            raise ValueError(
                f"{op}: without logprobs the verifier must ask a model; give "
                "SelfConfidenceVerifier(engine=...) or pass the generation logprobs"
            )
        return await self._ask(question, steps)

    @staticmethod
    def _from_logprobs(op: str, i: int, per_step: Sequence[Sequence[float]]) -> list[float]:
        out = []
        for j, step in enumerate(per_step):
            values = np.asarray(step, dtype=np.float64)
            if values.ndim != 1:
                raise ValueError(f"{op}: logprobs[{i}][{j}] must be 1-D, got shape {values.shape}")
            if values.size == 0:
                out.append(1.0)
                continue
            if np.any(np.isnan(values)) or np.any(values > 1e-6):
                raise ValueError(
                    f"{op}: logprobs[{i}][{j}] must be log-probabilities (<= 0, not NaN)"
                )
            out.append(float(math.exp(float(np.mean(np.minimum(values, 0.0))))))
        return out

    async def _ask(self, question: str, steps: list[list[str]]) -> StepScores:
        prompts = []
        for sol_steps in steps:
            for j in range(len(sol_steps)):
                text = "\n\n".join(sol_steps[: j + 1])
                prompts.append(
                    [
                        {
                            "role": "user",
                            "content": _JUDGE_TEMPLATE.format(question=question, steps=text),
                        }
                    ]
                )
        counts = CostCounts()
        flat: list[float] = []
        if prompts:
            outs = await self.engine.generate(
                prompts, n=1, max_tokens=1, temperature=0.0, logprobs=True
            )
            model = self.engine.info.name
            counts.record_generation(
                model, [o[0].prompt_tokens for o in outs], [[o[0].completion_tokens] for o in outs]
            )
            for out in outs:
                flat.append(_p_yes(out[0].text, out[0].logprobs))
        per_solution = []
        k = 0
        for sol_steps in steps:
            per_solution.append(flat[k : k + len(sol_steps)])
            k += len(sol_steps)
        return StepScores.from_lists(per_solution, counts)


def _p_yes(text: str, logprobs: Sequence[float] | None) -> float:
    word = text.strip().lower()
    p = math.exp(logprobs[0]) if logprobs else 1.0
    if word.startswith("yes"):
        return p
    if word.startswith("no"):
        return 1.0 - p
    return 0.5
