"""Verifiers: score full or partial solutions step by step (CSR step scores).

- :class:`SelfConfidenceVerifier` — the embedded default, the policy model's confidence in its own
  steps. It needs no further model and it is weak.
- :class:`VLLMRewardVerifier` — a process reward model served by vLLM (``/pooling`` endpoint or
  in-process).
"""

from __future__ import annotations

from uniscale.strategies.verifiers.base import REDUCE_MODES, StepScores, Verifier, split_steps
from uniscale.strategies.verifiers.self_confidence import SelfConfidenceVerifier
from uniscale.strategies.verifiers.vllm_reward import VLLMRewardVerifier

__all__ = [
    "REDUCE_MODES",
    "SelfConfidenceVerifier",
    "StepScores",
    "VLLMRewardVerifier",
    "Verifier",
    "split_steps",
]
