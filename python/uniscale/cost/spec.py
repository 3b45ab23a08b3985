"""What the cost models need to know about one model: its shape and its prices."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["ModelSpec", "spec_table", "spec_for"]


def _check_positive(op: str, name: str, value: Any, *, allow_none: bool) -> None:
    if value is None:
        if allow_none:
            return
        raise TypeError(f"{op}: {name} must be a positive number, got None")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{op}: {name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{op}: {name} must be finite and > 0, got {value!r}")


@dataclass(frozen=True)
class ModelSpec:
    """Shape and prices of one model, as the eFLOPs and dollar models use them.

    Parameters
    ----------
    name : str
        The model's name; cost records refer to models by this name.
    params : float
        Number of parameters P.
    n_layers, hidden_size : int or None
        Used only to estimate ``kv_bytes_per_token`` when it is not given.
    gqa_ratio : float
        r, query heads per key/value head (1.0 without grouped-query attention).
    kv_bytes_per_token : float or None
        D, bytes of KV cache one token occupies over all layers. When None it is estimated as
        ``2 (K and V) * n_layers * hidden_size / gqa_ratio * 2 bytes`` (16-bit cache).
    price_in_per_1k, price_out_per_1k : float
        Dollars per 1000 prompt (input) and completion (output) tokens.
    """

    name: str
    params: float
    n_layers: int | None = None
    hidden_size: int | None = None
    gqa_ratio: float = 1.0
    kv_bytes_per_token: float | None = None
    price_in_per_1k: float = 0.0
    price_out_per_1k: float = 0.0

    def __post_init__(self) -> None:
        op = "ModelSpec"
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"{op}: name must be a non-empty str, got {self.name!r}")
        _check_positive(op, "params", self.params, allow_none=False)
        for field in ("n_layers", "hidden_size"):
            value = getattr(self, field)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise TypeError(f"{op}: {field} must be an int or None, got {value!r}")
            _check_positive(op, field, value, allow_none=True)
        _check_positive(op, "gqa_ratio", self.gqa_ratio, allow_none=False)
        _check_positive(op, "kv_bytes_per_token", self.kv_bytes_per_token, allow_none=True)
        for field in ("price_in_per_1k", "price_out_per_1k"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"{op}: {field} must be a number, got {value!r}")
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{op}: {field} must be finite and >= 0, got {value!r}")

    @property
    def kv_bytes(self) -> float:
        """D, KV-cache bytes per token: the given value or the 16-bit estimate from the shape."""
        if self.kv_bytes_per_token is not None:
            return float(self.kv_bytes_per_token)
        if self.n_layers is None or self.hidden_size is None:
            raise ValueError(
                f"ModelSpec {self.name!r}: kv_bytes_per_token is unknown and cannot be estimated "
                "without n_layers and hidden_size"
            )
        return 2.0 * self.n_layers * self.hidden_size / self.gqa_ratio * 2.0

    @classmethod
    def from_info(
        cls, info: Any, *, price_in_per_1k: float = 0.0, price_out_per_1k: float = 0.0
    ) -> ModelSpec:
        """Build a spec from an engine's ``ModelInfo`` (see ``uniscale.engines``).

        Raises
        ------
        ValueError
            When the engine does not know the model's parameter count.
        """
        params = getattr(info, "params", None)
        name = getattr(info, "name", None)
        if params is None:
            raise ValueError(
                f"ModelSpec.from_info: model {name!r} reports no parameter count; "
                "build a ModelSpec by hand"
            )
        gqa = getattr(info, "gqa_ratio", None)
        return cls(
            name=str(name),
            params=float(params),
            n_layers=getattr(info, "n_layers", None),
            hidden_size=getattr(info, "hidden_size", None),
            gqa_ratio=1.0 if gqa is None else float(gqa),
            kv_bytes_per_token=getattr(info, "kv_bytes_per_token", None),
            price_in_per_1k=price_in_per_1k,
            price_out_per_1k=price_out_per_1k,
        )


def spec_table(
    op: str, specs: Mapping[str, ModelSpec] | Iterable[ModelSpec] | ModelSpec
) -> dict[str, ModelSpec]:
    """Normalise ``specs`` (mapping, iterable or one spec) to a name -> spec dict."""
    if isinstance(specs, ModelSpec):
        return {specs.name: specs}
    if isinstance(specs, Mapping):
        out = dict(specs)
        for key, spec in out.items():
            if not isinstance(spec, ModelSpec):
                raise TypeError(
                    f"{op}: specs[{key!r}] must be a ModelSpec, got {type(spec).__name__}"
                )
        return out
    out = {}
    for index, spec in enumerate(specs):
        if not isinstance(spec, ModelSpec):
            raise TypeError(f"{op}: specs[{index}] must be a ModelSpec, got {type(spec).__name__}")
        out[spec.name] = spec
    return out


def spec_for(op: str, specs: dict[str, ModelSpec], model: str) -> ModelSpec:
    """The spec of ``model``; KeyError naming ``op`` and the known models when absent."""
    try:
        return specs[model]
    except KeyError:
        raise KeyError(f"{op}: no ModelSpec for model {model!r}; known: {sorted(specs)}") from None
