"""What each replayed outcome cost: tokens, dollars and eFLOPs, in bulk.

The cost model of a call that returns n samples (the MoT authors' model): the prompt is charged
once, plus the output tokens of the samples used.

- tokens  = prompt + Σ output tokens;
- dollars = (prompt · price_in + Σ output · price_out) / 1000;
- eFLOPs  = the model of :mod:`uniscale.cost.eflops`: one prefill of the prompt and a decode run in
  which the n samples are decoded as parallel branches, so the run has max(L_i) steps,
  Σ L_i branch-tokens and Σ_i Σ_{s<L_i} (prompt + s) context-tokens. NaN for models whose
  parameter count the trace does not give; without a KV-cache size the attention terms are
  left out (D = 0).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from uniscale.replay.arms import ReplayArm
from uniscale.replay.outcomes import SampledOutcomes
from uniscale.replay.trace import TraceModel

logger = logging.getLogger(__name__)

__all__ = ["COST_UNITS", "CostTables", "compute_costs", "model_spec"]

COST_UNITS = ("dollars", "tokens", "eflops")


@dataclass(frozen=True)
class CostTables:
    """Per (trial, query, arm) costs, float64 arrays of shape (R, Q, K)."""

    dollars: np.ndarray
    tokens: np.ndarray
    eflops: np.ndarray

    def unit(self, name: str) -> np.ndarray:
        """The table of one unit: ``"dollars"``, ``"tokens"`` or ``"eflops"``."""
        if name not in COST_UNITS:
            raise ValueError(f"CostTables.unit: unit must be one of {COST_UNITS}, got {name!r}")
        return getattr(self, name)


def model_spec(name: str, model: TraceModel):
    """The :class:`uniscale.cost.ModelSpec` of a trace model (None without a parameter count)."""
    if model.params is None:
        return None
    from uniscale.cost.spec import ModelSpec

    return ModelSpec(
        name=name,
        params=float(model.params),
        gqa_ratio=model.gqa_ratio,
        kv_bytes_per_token=model.kv_bytes_per_token,
        price_in_per_1k=model.price_in_per_1k,
        price_out_per_1k=model.price_out_per_1k,
    )


def compute_costs(
    outcomes: SampledOutcomes,
    arms: Sequence[ReplayArm],
    models: Mapping[str, TraceModel],
    *,
    intensity: float = 156.0,
) -> CostTables:
    """Costs of every sampled outcome.

    Parameters
    ----------
    outcomes : SampledOutcomes
        Shape (R, Q, K).
    arms : sequence of ReplayArm, length K
    models : mapping model name -> TraceModel
        Prices, parameter counts and KV-cache sizes.
    intensity : float
        Arithmetic intensity I of the eFLOPs model (FLOPs per byte; 156 for an A100-class GPU).

    Raises
    ------
    ValueError
        ``arms`` does not match the outcomes' K, or a negative or non-finite intensity.
    KeyError
        An arm's model is not in ``models``.
    """
    R, Q, K = outcomes.shape
    if len(arms) != K:
        raise ValueError(f"compute_costs: outcomes have {K} arms, got {len(arms)} arms")
    if not np.isfinite(intensity) or intensity < 0:
        raise ValueError(f"compute_costs: intensity must be finite and >= 0, got {intensity!r}")
    for a in arms:
        if a.model not in models:
            raise KeyError(
                f"compute_costs: arm {a.name!r} names model {a.model!r}, not in {sorted(models)}"
            )
    price_in = np.array([models[a.model].price_in_per_1k for a in arms])
    price_out = np.array([models[a.model].price_out_per_1k for a in arms])
    prompt = outcomes.prompt_tokens.astype(np.float64)[None]  # (1, Q, K)
    out = outcomes.out_tokens.astype(np.float64)
    tokens = prompt + out
    dollars = (prompt * price_in + out * price_out) / 1000.0
    eflops = np.full((R, Q, K), np.nan)
    for k, a in enumerate(arms):
        spec = model_spec(a.model, models[a.model])
        if spec is None:
            continue
        eflops[:, :, k] = _eflops_bulk(
            spec,
            models[a.model].kv_bytes_per_token or 0.0,
            prompt[0, :, k][None],
            out[:, :, k],
            outcomes.max_tokens[:, :, k].astype(np.float64),
            outcomes.sq_tokens[:, :, k].astype(np.float64),
            float(intensity),
        )
    return CostTables(dollars, tokens, eflops)


def _eflops_bulk(
    spec,
    kv_bytes: float,
    l_in: np.ndarray,
    sum_l: np.ndarray,
    max_l: np.ndarray,
    sq_l: np.ndarray,
    intensity: float,
) -> np.ndarray:
    """uniscale.cost's prefill + decode eFLOPs, written over arrays (see the module docstring).

    Σ_i Σ_{s=0}^{L_i-1} (l_in + s) = l_in·ΣL + (ΣL² − ΣL)/2.
    """
    p = spec.params
    prefill = 2.0 * p * l_in + 2.0 * p * intensity
    context = l_in * sum_l + (sq_l - sum_l) / 2.0
    decode = (
        2.0 * p * sum_l
        + 2.0 * spec.gqa_ratio * kv_bytes * context
        + 2.0 * p * intensity * max_l
        + 2.0 * kv_bytes * intensity * context
    )
    return prefill + decode
