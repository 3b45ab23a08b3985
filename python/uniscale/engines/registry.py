"""Engines by name: ``get_engine("llama:smollm2-135m")`` and friends.

Spec strings are ``"<kind>:<target>"``:

- ``"llama:smollm2-135m"``, ``"llama:/path/model.gguf"``: :class:`LlamaCppEngine`;
- ``"openai:http://127.0.0.1:8000/v1#model-id"``: :class:`OpenAIEngine` (the model id after
  ``#``; without it the server's only model is used);
- ``"vllm:/path/to/hf-model-dir"``: :class:`VLLMEngine`.

A dict spec names the kind under ``"engine"`` and passes the other keys to the constructor:
``{"engine": "llama", "model": "gemma3-270m", "n_ctx": 2048}``. Backends are imported only when
their kind is asked for.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

from uniscale.engines.base import Engine

__all__ = ["ENGINE_KINDS", "get_engine", "register_engine"]

logger = logging.getLogger(__name__)

#: kind -> "module:class", or a factory registered at run time.
ENGINE_KINDS: dict[str, str | Callable[..., Engine]] = {
    "llama": "uniscale.engines.llama_cpp:LlamaCppEngine",
    "openai": "uniscale.engines.openai_http:OpenAIEngine",
    "vllm": "uniscale.engines.vllm:VLLMEngine",
}


def register_engine(kind: str, factory: Callable[..., Engine]) -> None:
    """Make ``get_engine("<kind>:<target>")`` call ``factory(target)`` (and dict specs
    ``factory(**options)``). Registering a kind again replaces it."""
    if not isinstance(kind, str) or not kind.isidentifier():
        raise ValueError(f"register_engine: kind must be an identifier, got {kind!r}")
    if not callable(factory):
        raise TypeError(f"register_engine: factory must be callable, got {type(factory).__name__}")
    ENGINE_KINDS[kind] = factory


def _factory(kind: str) -> Callable[..., Engine]:
    target = ENGINE_KINDS.get(kind)
    if target is None:
        raise ValueError(
            f"get_engine: unknown engine kind {kind!r}, expected one of {sorted(ENGINE_KINDS)}"
        )
    if callable(target):
        return target
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


def _string_options(kind: str, target: str) -> dict[str, Any]:
    if kind == "openai":
        base_url, _, model = target.partition("#")
        return {"base_url": base_url, "model": model or None}
    return {"model": target}


def get_engine(spec: str | Mapping[str, Any]) -> Engine:
    """Open the engine a spec names.

    Parameters
    ----------
    spec : str or mapping
        ``"<kind>:<target>"`` or ``{"engine": kind, **constructor options}``.

    Raises
    ------
    ValueError
        Malformed spec or unknown kind.
    uniscale.errors.EngineError
        The engine could not start (unknown model, missing package, unreachable server).
    """
    if isinstance(spec, str):
        kind, sep, target = spec.partition(":")
        if not sep or not target:
            raise ValueError(
                f"get_engine: spec must look like '<kind>:<model>' with kind in "
                f"{sorted(ENGINE_KINDS)}, got {spec!r}"
            )
        factory = _factory(kind)
        if callable(ENGINE_KINDS[kind]) and not isinstance(ENGINE_KINDS[kind], str):
            return factory(target)
        return factory(**_string_options(kind, target))
    if isinstance(spec, Mapping):
        options = dict(spec)
        kind = options.pop("engine", None)
        if not isinstance(kind, str):
            raise ValueError(
                f"get_engine: a dict spec needs an 'engine' key naming one of "
                f"{sorted(ENGINE_KINDS)}, got {spec!r}"
            )
        return _factory(kind)(**options)
    raise TypeError(f"get_engine: spec must be str or dict, got {type(spec).__name__}")
