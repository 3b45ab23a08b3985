"""Cost of a strategy run: tokens, dollars and equivalent FLOPs (docs/method.md).

Strategies report raw counts (:class:`CostCounts`: prefills, decode steps with their branches and
contexts, verifier batches); :func:`eflops` and :func:`dollars` compute the cost from them and the
models' :class:`ModelSpec`; :class:`LogMinMaxNormalizer` maps costs over an arm space to [0, 1].
"""

from __future__ import annotations

from uniscale.cost.counts import CostCounts, DecodeRecord, PrefillRecord, TokenCount, VerifyRecord
from uniscale.cost.dollars import dollars
from uniscale.cost.eflops import (
    DEFAULT_INTENSITY,
    EflopsBreakdown,
    decode_eflops,
    eflops,
    eflops_breakdown,
    prefill_eflops,
    verify_eflops,
)
from uniscale.cost.normalize import LogMinMaxNormalizer
from uniscale.cost.spec import ModelSpec
from uniscale.cost.summary import Cost

__all__ = [
    "DEFAULT_INTENSITY",
    "Cost",
    "CostCounts",
    "DecodeRecord",
    "EflopsBreakdown",
    "LogMinMaxNormalizer",
    "ModelSpec",
    "PrefillRecord",
    "TokenCount",
    "VerifyRecord",
    "decode_eflops",
    "dollars",
    "eflops",
    "eflops_breakdown",
    "prefill_eflops",
    "verify_eflops",
]
