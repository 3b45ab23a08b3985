"""Equivalent FLOPs (eFLOPs): compute plus memory traffic folded in through arithmetic intensity.

The model of docs/method.md, with P the parameters, r the GQA ratio, D the KV-cache bytes per token
and I the hardware's arithmetic intensity (FLOPs it can do per byte moved; about 156 for an
A100-class GPU):

- a prefill of l_in tokens:                2·P·l_in + 2·P·I
- a decode step, b branches at context l:  2·P·b + 2·r·b·l·D   (compute)
                                           + 2·P·I + 2·b·l·D·I (weights and KV cache read)
- a verifier batch over Σl tokens:         2·P_v·Σl + 2·P_v·I

Summed over a run of decode steps the decode term is
2·P·Σb + 2·P·I·steps + 2·D·(r + I)·Σ(b·l), which is why :class:`DecodeRecord` keeps those sums.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from uniscale.cost.counts import CostCounts, DecodeRecord, check_count
from uniscale.cost.spec import ModelSpec, spec_for, spec_table

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_INTENSITY",
    "EflopsBreakdown",
    "eflops",
    "eflops_breakdown",
    "prefill_eflops",
    "decode_eflops",
    "verify_eflops",
]

DEFAULT_INTENSITY = 156.0


def _check_intensity(op: str, intensity: float) -> float:
    if isinstance(intensity, bool) or not isinstance(intensity, (int, float)):
        raise TypeError(f"{op}: intensity must be a number, got {type(intensity).__name__}")
    if not math.isfinite(intensity) or intensity < 0:
        raise ValueError(f"{op}: intensity must be finite and >= 0, got {intensity!r}")
    return float(intensity)


def _check_spec(op: str, spec: object) -> ModelSpec:
    if not isinstance(spec, ModelSpec):
        raise TypeError(f"{op}: spec must be a ModelSpec, got {type(spec).__name__}")
    return spec


def prefill_eflops(spec: ModelSpec, tokens: int, intensity: float = DEFAULT_INTENSITY) -> float:
    """2·P·l_in + 2·P·I.

    Raises
    ------
    TypeError
        ``spec`` is not a ModelSpec, ``tokens`` is not an int (Python or numpy; bool and float
        are refused) or ``intensity`` is not a number.
    ValueError
        ``tokens`` < 0, or ``intensity`` is negative or not finite.
    """
    op = "prefill_eflops"
    _check_spec(op, spec)
    n = check_count(op, "tokens", tokens)
    i = _check_intensity(op, intensity)
    return 2.0 * spec.params * n + 2.0 * spec.params * i


def decode_eflops(
    spec: ModelSpec, rec: DecodeRecord, intensity: float = DEFAULT_INTENSITY
) -> float:
    """Σ over the record's steps of 2·P·b + 2·r·b·l·D + 2·P·I + 2·b·l·D·I.

    The counts come validated inside ``rec`` (see :class:`DecodeRecord`).

    Raises
    ------
    TypeError
        ``spec`` is not a ModelSpec, ``rec`` not a DecodeRecord, ``intensity`` not a number.
    """
    op = "decode_eflops"
    _check_spec(op, spec)
    if not isinstance(rec, DecodeRecord):
        raise TypeError(f"{op}: rec must be a DecodeRecord, got {type(rec).__name__}")
    i = _check_intensity(op, intensity)
    p = spec.params
    if rec.steps == 0:
        return 0.0
    d = spec.kv_bytes
    compute = 2.0 * p * rec.branch_tokens + 2.0 * spec.gqa_ratio * d * rec.context_tokens
    memory = 2.0 * p * i * rec.steps + 2.0 * d * i * rec.context_tokens
    return compute + memory


def verify_eflops(spec: ModelSpec, tokens: int, intensity: float = DEFAULT_INTENSITY) -> float:
    """2·P_v·Σl + 2·P_v·I; ``tokens`` is validated as in :func:`prefill_eflops`."""
    op = "verify_eflops"
    _check_spec(op, spec)
    n = check_count(op, "tokens", tokens)
    i = _check_intensity(op, intensity)
    return 2.0 * spec.params * n + 2.0 * spec.params * i


@dataclass(frozen=True)
class EflopsBreakdown:
    """eFLOPs of one run split by phase; ``total`` is their sum."""

    prefill: float
    decode: float
    verify: float

    @property
    def total(self) -> float:
        return self.prefill + self.decode + self.verify


def eflops_breakdown(
    counts: CostCounts,
    specs: Mapping[str, ModelSpec] | Iterable[ModelSpec] | ModelSpec,
    intensity: float = DEFAULT_INTENSITY,
) -> EflopsBreakdown:
    """eFLOPs of ``counts`` by phase.

    Parameters
    ----------
    counts : CostCounts
    specs : mapping name -> ModelSpec, iterable of ModelSpec, or one ModelSpec
        Must cover every model named in ``counts``.
    intensity : float
        I, FLOPs per byte of memory traffic (156 by default).

    Raises
    ------
    KeyError
        A model in ``counts`` has no spec.
    """
    op = "eflops"
    if not isinstance(counts, CostCounts):
        raise TypeError(f"{op}: counts must be a CostCounts, got {type(counts).__name__}")
    _check_intensity(op, intensity)
    table = spec_table(op, specs)
    prefill = decode = verify = 0.0
    for rec in counts.prefills:
        prefill += prefill_eflops(spec_for(op, table, rec.model), rec.tokens, intensity)
    for drec in counts.decodes:
        decode += decode_eflops(spec_for(op, table, drec.model), drec, intensity)
    for vrec in counts.verifications:
        verify += verify_eflops(spec_for(op, table, vrec.model), vrec.tokens, intensity)
    return EflopsBreakdown(prefill, decode, verify)


def eflops(
    counts: CostCounts,
    specs: Mapping[str, ModelSpec] | Iterable[ModelSpec] | ModelSpec,
    intensity: float = DEFAULT_INTENSITY,
) -> float:
    """Total eFLOPs of ``counts`` (see the module docstring for the model)."""
    return eflops_breakdown(counts, specs, intensity).total
