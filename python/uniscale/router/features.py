"""Query featurizers by name: ``"hashed"`` (no dependencies) and ``"minilm"`` (sentence embedding).

A query featurizer has ``name``, ``out_dim``, ``config()`` and ``transform(texts) -> (B, out_dim)``
float64; :func:`make_query_featurizer` rebuilds one from ``(name, config)`` when a router loads.
"""

from __future__ import annotations

import logging
from typing import Any

from uniscale.router.hashed import HashedFeaturizer
from uniscale.router.minilm import MiniLMFeaturizer

logger = logging.getLogger(__name__)

__all__ = ["QUERY_FEATURIZERS", "make_query_featurizer"]

QUERY_FEATURIZERS = {"hashed": HashedFeaturizer, "minilm": MiniLMFeaturizer}


def make_query_featurizer(spec: Any, config: dict[str, Any] | None = None) -> Any:
    """A featurizer from a name (plus constructor ``config``) or an object with ``transform``."""
    if isinstance(spec, str):
        if spec not in QUERY_FEATURIZERS:
            raise ValueError(
                f"featurizer: unknown name {spec!r}, expected one of {sorted(QUERY_FEATURIZERS)}"
            )
        cfg = dict(config or {})
        if "ngram_range" in cfg:
            cfg["ngram_range"] = tuple(cfg["ngram_range"])
        return QUERY_FEATURIZERS[spec](**cfg)
    for attr in ("transform", "out_dim", "name", "config"):
        if not hasattr(spec, attr):
            raise TypeError(f"featurizer: object {spec!r} lacks {attr!r}")
    return spec
