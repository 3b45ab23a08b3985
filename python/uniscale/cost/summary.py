"""The cost of one strategy run in every unit a user may choose."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from uniscale.cost.counts import CostCounts, TokenCount
from uniscale.cost.dollars import dollars
from uniscale.cost.eflops import DEFAULT_INTENSITY, EflopsBreakdown, eflops_breakdown
from uniscale.cost.spec import ModelSpec

logger = logging.getLogger(__name__)

__all__ = ["Cost"]


@dataclass(frozen=True)
class Cost:
    """Counts of a run and the costs computed from them.

    Attributes
    ----------
    counts : CostCounts
        The raw work counts (prefills, decode steps, verifier batches).
    wall_s : float
        Wall-clock seconds of the run.
    eflops : float or None
        Equivalent FLOPs; None when a model's shape is unknown (no spec was given).
    eflops_parts : EflopsBreakdown or None
    dollars : float or None
    """

    counts: CostCounts
    wall_s: float
    eflops: float | None
    eflops_parts: EflopsBreakdown | None
    dollars: float | None

    @classmethod
    def from_counts(
        cls,
        counts: CostCounts,
        specs: Mapping[str, ModelSpec] | Iterable[ModelSpec] | ModelSpec | None,
        *,
        wall_s: float = 0.0,
        intensity: float = DEFAULT_INTENSITY,
    ) -> Cost:
        """Compute eFLOPs and dollars from ``counts``; both are None when ``specs`` is None."""
        if specs is None:
            return cls(counts, float(wall_s), None, None, None)
        parts = eflops_breakdown(counts, specs, intensity)
        return cls(counts, float(wall_s), parts.total, parts, dollars(counts, specs))

    @property
    def tokens(self) -> dict[str, TokenCount]:
        """Prompt and completion tokens per model."""
        return self.counts.tokens_by_model()

    @property
    def prompt_tokens(self) -> int:
        return self.counts.prompt_tokens

    @property
    def completion_tokens(self) -> int:
        return self.counts.completion_tokens

    @property
    def total_tokens(self) -> int:
        return self.counts.total_tokens

    @property
    def steps(self) -> int:
        """Strategy-level steps (tree levels for beam search)."""
        return self.counts.search_steps

    @property
    def branches(self) -> int:
        """Most branches decoded together."""
        return self.counts.max_branches

    def as_dict(self) -> dict[str, object]:
        """Flat, JSON-friendly summary."""
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "verifier_tokens": self.counts.verifier_tokens,
            "tokens_by_model": {m: [t.prompt, t.completion] for m, t in self.tokens.items()},
            "generate_calls": self.counts.generate_calls,
            "decode_steps": self.counts.decode_steps,
            "steps": self.steps,
            "branches": self.branches,
            "wall_s": self.wall_s,
            "eflops": self.eflops,
            "dollars": self.dollars,
        }
