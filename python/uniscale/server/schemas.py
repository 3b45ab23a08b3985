"""Request and response bodies of the OpenAI-compatible server (pydantic models at the HTTP edge).

Requests follow the OpenAI API closely enough for the official ``openai`` client to work unchanged.
Fields the router has no use for (``user``, ``metadata``, ``logit_bias`` ...) are accepted and
ignored; so is ``temperature``, because each arm's strategy samples at its own temperature.
Fields whose meaning uniscale cannot honour (``stream=true``, ``n > 1``, several prompts) are
rejected with a 400 that says so. Responses carry the usual OpenAI fields plus a ``uniscale``
object with the decision id, the chosen arm and the cost.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "ChatMessage",
    "ChatCompletionRequest",
    "CompletionRequest",
    "FeedbackRequest",
    "RoutingOptions",
    "message_text",
]

_ROUTED_MODELS = ("", "auto", "uniscale", "router")


class RoutingOptions(BaseModel):
    """uniscale-specific request options, sent as ``extra_body={"uniscale": {...}}``."""

    model_config = ConfigDict(extra="forbid")

    answer_kind: Literal["math", "number", "date", "choice"] = Field(
        "math", description="How the final answer is extracted from the generated text."
    )


class ChatMessage(BaseModel):
    """One chat message; ``content`` is a string or a list of OpenAI content parts."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None


def message_text(message: ChatMessage) -> str:
    """The text of a message: the string itself, or its ``text`` parts joined by newlines."""
    if message.content is None:
        return ""
    if isinstance(message.content, str):
        return message.content
    parts = []
    for part in message.content:
        if part.get("type") != "text" or not isinstance(part.get("text"), str):
            raise ValueError(
                f"messages: only text content parts are supported, got a part of type "
                f"{part.get('type')!r}"
            )
        parts.append(part["text"])
    return "\n".join(parts)


def _check_unicode(field: str, text: str) -> str:
    """``text`` when it is valid Unicode; a JSON ``\\ud800`` escape decodes to a lone surrogate,
    which no engine or tokenizer can encode."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"{field}: expected valid Unicode text, got a lone surrogate "
            f"{text[exc.start]!r} at character {exc.start}"
        ) from None
    return text


class _GenerationRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = "uniscale"
    max_tokens: int | None = Field(None, ge=1, le=32768)
    max_completion_tokens: int | None = Field(None, ge=1, le=32768)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    n: int = Field(1, ge=1)
    stream: bool = False
    seed: int | None = None
    uniscale: RoutingOptions = Field(default_factory=RoutingOptions)

    @field_validator("n")
    @classmethod
    def _one_choice(cls, value: int) -> int:
        if value != 1:
            raise ValueError(
                f"n must be 1 (the router returns the one answer of the arm it chose), got {value}"
            )
        return value

    @field_validator("stream")
    @classmethod
    def _no_stream(cls, value: bool) -> bool:
        if value:
            raise ValueError("stream=true is not supported: strategies answer only when done")
        return value

    @property
    def routed(self) -> bool:
        """True when the model field asks the router to choose among every arm."""
        return self.model.strip().lower() in _ROUTED_MODELS

    @property
    def token_limit(self) -> int | None:
        return self.max_completion_tokens if self.max_completion_tokens else self.max_tokens


class ChatCompletionRequest(_GenerationRequest):
    """Body of ``POST /v1/chat/completions``."""

    messages: list[ChatMessage] = Field(..., min_length=1)

    def question(self) -> str:
        """The question the router answers: the last user message.

        Earlier turns and system messages are not forwarded: strategies build their own prompts.
        """
        # TODO(uniscale): multi-turn chats are routed and answered on their last user message
        # only; strategies take one question string, so a conversation's context is dropped.
        for message in reversed(self.messages):
            if message.role == "user":
                text = message_text(message).strip()
                if not text:
                    raise ValueError("messages: the last user message is empty")
                return _check_unicode("messages", text)
        raise ValueError("messages: expected at least one message with role 'user', got none")


class CompletionRequest(_GenerationRequest):
    """Body of ``POST /v1/completions``."""

    prompt: str | list[str]

    def question(self) -> str:
        """The single prompt; a list must hold exactly one non-empty string."""
        prompt = self.prompt
        if isinstance(prompt, list):
            if len(prompt) != 1:
                raise ValueError(
                    f"prompt: expected one prompt (a string or a list of one), got a list of "
                    f"{len(prompt)}"
                )
            prompt = prompt[0]
        if not prompt.strip():
            raise ValueError("prompt: expected a non-empty string")
        return _check_unicode("prompt", prompt)


class FeedbackRequest(BaseModel):
    """Body of ``POST /v1/feedback``: the outcome of one earlier decision."""

    model_config = ConfigDict(extra="forbid")

    decision_id: str = Field(..., min_length=1)
    correct: bool | None = None
    verifier: float | None = Field(None, ge=0.0, le=1.0)
