"""LLM engines behind one small async interface.

>>> from uniscale.engines import get_engine
>>> engine = get_engine("llama:smollm2-135m")            # doctest: +SKIP
>>> [[completion]] = await engine.generate(["2+2="], max_tokens=4)   # doctest: +SKIP

Backends: :class:`LlamaCppEngine` (embedded llama.cpp, the default), :class:`OpenAIEngine` (any
OpenAI-compatible server over HTTP) and :class:`VLLMEngine` (vLLM in-process). They are
imported on first use, so ``import uniscale.engines`` needs none of their libraries.
"""

from __future__ import annotations

import importlib
from typing import Any

from uniscale.engines.base import FINISH_REASONS, Completion, Engine, ModelInfo, Prompt
from uniscale.engines.models import MODELS, cache_dir, resolve_gguf
from uniscale.engines.registry import ENGINE_KINDS, get_engine, register_engine

_LAZY = {
    "LlamaCppEngine": "uniscale.engines.llama_cpp",
    "OpenAIEngine": "uniscale.engines.openai_http",
    "VLLMEngine": "uniscale.engines.vllm",
}

__all__ = [
    "ENGINE_KINDS",
    "FINISH_REASONS",
    "MODELS",
    "Completion",
    "Engine",
    "ModelInfo",
    "Prompt",
    "cache_dir",
    "get_engine",
    "register_engine",
    "resolve_gguf",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'uniscale.engines' has no attribute {name!r}")
