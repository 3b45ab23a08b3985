"""Dollar cost of a run from per-model token prices."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from uniscale.cost.counts import CostCounts
from uniscale.cost.spec import ModelSpec, spec_for, spec_table

logger = logging.getLogger(__name__)

__all__ = ["dollars"]


def dollars(
    counts: CostCounts, specs: Mapping[str, ModelSpec] | Iterable[ModelSpec] | ModelSpec
) -> float:
    """Dollars for ``counts``: prompt and verifier-scored tokens at each model's input price,
    generated tokens at its output price (prices are per 1000 tokens).

    Raises
    ------
    KeyError
        A model in ``counts`` has no spec.
    """
    op = "dollars"
    if not isinstance(counts, CostCounts):
        raise TypeError(f"{op}: counts must be a CostCounts, got {type(counts).__name__}")
    table = spec_table(op, specs)
    total = 0.0
    for model, tokens in counts.tokens_by_model().items():
        spec = spec_for(op, table, model)
        total += tokens.prompt / 1000.0 * spec.price_in_per_1k
        total += tokens.completion / 1000.0 * spec.price_out_per_1k
    return total
