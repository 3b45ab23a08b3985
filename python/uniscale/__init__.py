"""uniscale: joint online model routing and test-time scaling.

For every request uniscale picks an arm, a (model, test-time-scaling method, budget) tuple, with a
contextual bandit (LinUCB on a compiled core), runs it on an LLM engine and learns from the outcome.

Heavy optional dependencies (torch, triton, vllm, llama-cpp-python, onnxruntime, fastapi) are
imported only where they are used; ``import uniscale`` loads numpy and the compiled core.
"""

from __future__ import annotations

import importlib
from typing import Any

from uniscale.errors import (
    BackendUnavailableError,
    EngineError,
    StateFileError,
    UniscaleError,
    UnknownDecisionError,
)

__version__ = "0.1.0"

# Public name -> module that defines it. Resolved on first access so that a missing optional
# dependency of one part never breaks ``import uniscale``.
_LAZY = {
    "LinUCB": "uniscale.bandit",
    "DisjointLinUCB": "uniscale.bandit",
    "Router": "uniscale.router",
    "Decision": "uniscale.router",
    "ArmSpace": "uniscale.router",
    "Arm": "uniscale.router",
}

_SUBMODULES = (
    "aggregate",
    "answers",
    "bandit",
    "cost",
    "engines",
    "replay",
    "router",
    "strategies",
)

__all__ = [
    "BackendUnavailableError",
    "EngineError",
    "StateFileError",
    "UniscaleError",
    "UnknownDecisionError",
    "__version__",
    *_LAZY,
    *_SUBMODULES,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        module = importlib.import_module(f"uniscale.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'uniscale' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
