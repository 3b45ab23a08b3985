"""The package's base exception for domain errors.

Argument errors raise the built-in ``ValueError``, ``TypeError`` or ``IndexError`` so that
callers can handle them the usual way; conditions that belong to uniscale's domain (an unknown
decision id, a corrupted state file, an engine that is not reachable) raise a subclass of
:class:`UniscaleError`.
"""

from __future__ import annotations

__all__ = [
    "UniscaleError",
    "StateFileError",
    "UnknownDecisionError",
    "EngineError",
    "ContextLengthError",
    "BackendUnavailableError",
]


class UniscaleError(Exception):
    """Base class of every error that is specific to uniscale."""


class StateFileError(UniscaleError, ValueError):
    """A saved state is truncated, corrupted, of another version or of another shape."""


class UnknownDecisionError(UniscaleError, KeyError):
    """Feedback names a decision id that is unknown, already closed or expired."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class EngineError(UniscaleError, RuntimeError):
    """An LLM engine failed: unreachable server, unknown model, prompt too long, bad reply."""


class ContextLengthError(EngineError):
    """A prompt does not fit the model's context: the request's fault, not an engine failure."""


class BackendUnavailableError(UniscaleError, RuntimeError):
    """An explicitly requested compute backend (torch, triton, CUDA) cannot run here."""
