"""The engine interface every backend implements, and the checks of its arguments.

An engine turns prompts into sampled completions. One call, :meth:`Engine.generate`, serves
every test-time-scaling strategy: ``n`` samples per prompt for voting and best-of-n, assistant
prefill (``continue_final``) for step-level beam search, per-token log-probabilities for
confidence scores. :class:`ModelInfo` states the facts the cost model needs.
"""

from __future__ import annotations

import logging
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "FINISH_REASONS",
    "Completion",
    "Engine",
    "GenerateArgs",
    "ModelInfo",
    "Prompt",
    "check_generate_args",
]

logger = logging.getLogger(__name__)

#: A raw text prompt, or chat messages ``[{"role": ..., "content": ...}, ...]``.
Prompt = str | list[dict[str, str]]

#: "stop": the model ended its turn or a stop string was met; "length": ``max_tokens`` or the
#: context ran out.
FINISH_REASONS = ("stop", "length")


def _check_optional_positive(owner: str, name: str, value: object, kind: type) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float) if kind is float else int):
        raise TypeError(f"{owner}: {name} must be {kind.__name__} or None, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{owner}: {name} must be positive and finite, got {value!r}")


@dataclass(frozen=True)
class ModelInfo:
    """Facts about the served model; None where the engine cannot know them.

    Attributes
    ----------
    name : str
        The model's name as the engine calls it (short name, path or server model id).
    params : float or None
        Number of parameters.
    context_length : int or None
        Longest prompt plus completion, in tokens, that this engine accepts.
    gqa_ratio : float or None
        Query heads per key/value head (``n_head / n_head_kv``); 1 without grouped queries.
    kv_bytes_per_token : float or None
        Key/value cache bytes one token occupies across all layers
        (``n_layers * n_head_kv * (key_dim + value_dim) * bytes_per_element``).
    hidden_size : int or None
        Width of the residual stream.
    n_layers : int or None
        Number of transformer blocks.
    """

    name: str
    params: float | None = None
    context_length: int | None = None
    gqa_ratio: float | None = None
    kv_bytes_per_token: float | None = None
    hidden_size: int | None = None
    n_layers: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"ModelInfo: name must be a non-empty str, got {self.name!r}")
        _check_optional_positive("ModelInfo", "params", self.params, float)
        _check_optional_positive("ModelInfo", "gqa_ratio", self.gqa_ratio, float)
        _check_optional_positive("ModelInfo", "kv_bytes_per_token", self.kv_bytes_per_token, float)
        for name in ("context_length", "hidden_size", "n_layers"):
            _check_optional_positive("ModelInfo", name, getattr(self, name), int)


@dataclass(frozen=True)
class Completion:
    """One sampled continuation of one prompt.

    Attributes
    ----------
    text : str
        The generated text, without the stop string that ended it.
    prompt_tokens : int
        Tokens of the prompt as the model saw it (after the chat template).
    completion_tokens : int
        Tokens generated, including the end-of-turn token or the tokens that formed a stop
        string: what the generation cost.
    finish_reason : str
        ``"stop"`` (end of turn or a stop string) or ``"length"`` (``max_tokens`` or the
        context ran out).
    logprobs : tuple of float or None
        When asked: the model's log-probability of each generated token (natural log, of the
        untempered distribution), one per completion token; otherwise None.
    """

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    logprobs: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.finish_reason not in FINISH_REASONS:
            raise ValueError(
                f"Completion: finish_reason must be one of {FINISH_REASONS}, "
                f"got {self.finish_reason!r}"
            )
        if self.prompt_tokens < 0 or self.completion_tokens < 0:
            raise ValueError(
                "Completion: token counts must be >= 0, got "
                f"prompt_tokens={self.prompt_tokens}, completion_tokens={self.completion_tokens}"
            )


@dataclass(frozen=True)
class GenerateArgs:
    """The checked arguments of one :meth:`Engine.generate` call."""

    prompts: tuple[Prompt, ...]
    n: int
    max_tokens: int
    temperature: float
    top_p: float
    stop: tuple[str, ...]
    seed: int | None
    logprobs: bool
    continue_final: bool


def _check_messages(where: str, messages: list, continue_final: bool) -> None:
    if not messages:
        raise ValueError(f"{where} is an empty list of chat messages")
    for j, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise TypeError(
                f"{where}[{j}] must be a dict with 'role' and 'content', got "
                f"{type(message).__name__}"
            )
        for field in ("role", "content"):
            if not isinstance(message.get(field), str):
                raise TypeError(
                    f"{where}[{j}][{field!r}] must be str, got {type(message.get(field)).__name__}"
                )
    if continue_final and messages[-1]["role"] != "assistant":
        raise ValueError(
            f"{where}: continue_final=True needs the last message to be the assistant's, "
            f"got role {messages[-1]['role']!r}"
        )


def check_generate_args(
    prompts: Sequence[Prompt],
    *,
    n: int,
    max_tokens: int,
    temperature: float,
    top_p: float,
    stop: Sequence[str] | None,
    seed: int | None,
    logprobs: bool,
    continue_final: bool,
) -> GenerateArgs:
    """Validate :meth:`Engine.generate` arguments; raise TypeError/ValueError naming the one
    that is wrong. Engines call this before doing any work, so a bad call changes nothing."""
    op = "generate"
    if isinstance(prompts, (str, bytes)) or not isinstance(prompts, Sequence):
        raise TypeError(
            f"{op}: prompts must be a list of prompts (wrap a single prompt in a list), "
            f"got {type(prompts).__name__}"
        )
    for i, prompt in enumerate(prompts):
        if isinstance(prompt, str):
            if continue_final:
                raise ValueError(
                    f"{op}: continue_final=True needs chat messages, prompts[{i}] is raw text "
                    "(append to the text instead)"
                )
        elif isinstance(prompt, list):
            _check_messages(f"{op}: prompts[{i}]", prompt, continue_final)
        else:
            raise TypeError(
                f"{op}: prompts[{i}] must be str or a list of chat messages, "
                f"got {type(prompt).__name__}"
            )
    for name, value in (("n", n), ("max_tokens", max_tokens)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{op}: {name} must be int, got {type(value).__name__}")
        if value < 1:
            raise ValueError(f"{op}: {name} must be >= 1, got {value}")
    for name, value in (("temperature", temperature), ("top_p", top_p)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{op}: {name} must be a number, got {type(value).__name__}")
    if not (math.isfinite(temperature) and temperature >= 0):
        raise ValueError(f"{op}: temperature must be finite and >= 0, got {temperature}")
    if not (0 < top_p <= 1):
        raise ValueError(f"{op}: top_p must be in (0, 1], got {top_p}")
    if stop is None:
        stops: tuple[str, ...] = ()
    elif isinstance(stop, str) or not isinstance(stop, Sequence):
        raise TypeError(f"{op}: stop must be a list of strings or None, got {type(stop).__name__}")
    else:
        stops = tuple(stop)
        for j, s in enumerate(stops):
            if not isinstance(s, str) or not s:
                raise ValueError(f"{op}: stop[{j}] must be a non-empty str, got {s!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ValueError(f"{op}: seed must be a non-negative int or None, got {seed!r}")
    if not isinstance(logprobs, bool) or not isinstance(continue_final, bool):
        raise TypeError(f"{op}: logprobs and continue_final must be bool")
    return GenerateArgs(
        prompts=tuple(prompts),
        n=n,
        max_tokens=max_tokens,
        temperature=float(temperature),
        top_p=float(top_p),
        stop=stops,
        seed=seed,
        logprobs=logprobs,
        continue_final=continue_final,
    )


class Engine(ABC):
    """An LLM engine: sampled completions for a batch of prompts.

    Subclasses set :attr:`info` and implement :meth:`generate`; :meth:`aclose` releases what
    they hold (a model, an HTTP client). Engines are async context managers.
    """

    info: ModelInfo

    @abstractmethod
    async def generate(
        self,
        prompts: Sequence[Prompt],
        *,
        n: int = 1,
        max_tokens: int = 256,
        temperature: float = 0.7,
        top_p: float = 1.0,
        stop: Sequence[str] | None = None,
        seed: int | None = None,
        logprobs: bool = False,
        continue_final: bool = False,
    ) -> list[list[Completion]]:
        """Sample ``n`` completions of every prompt.

        Parameters
        ----------
        prompts : sequence of str or list of dict
            Raw texts (completed as they are) or chat messages (rendered with the model's
            chat template, with a generation prompt for the assistant).
        n : int
            Samples per prompt; the prompt is evaluated once for all of them where the backend
            can share it.
        max_tokens : int
            Most tokens generated per sample.
        temperature, top_p : float
            Sampling temperature (0 is greedy: all samples equal) and nucleus mass.
        stop : sequence of str, optional
            Strings that end a sample; the text is cut before the first one.
        seed : int, optional
            Makes sampling reproducible; each (prompt, sample) pair gets its own stream.
        logprobs : bool
            Return the log-probability of each generated token.
        continue_final : bool
            With chat prompts whose last message is the assistant's: continue that message
            (assistant prefill) instead of starting a new turn.

        Returns
        -------
        list of list of Completion
            ``result[i][j]``: sample ``j`` of prompt ``i``; ``len(result) == len(prompts)`` and
            every inner list has ``n`` items.

        Raises
        ------
        uniscale.errors.EngineError
            The backend failed: unreachable, unknown model, prompt longer than the context.
        TypeError, ValueError
            An argument is malformed (nothing was sent to the backend).
        """

    async def aclose(self) -> None:  # noqa: B027 - engines without resources need no override
        """Release the engine's resources; the engine is unusable afterwards."""

    async def __aenter__(self) -> Engine:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.info.name!r})"
