"""Rendering chat messages into a prompt with a model's own Jinja chat template.

Templates come from the GGUF metadata (``tokenizer.chat_template``) or are given by the caller.
They are rendered in Jinja's sandbox with the variables Hugging Face templates expect
(``messages``, ``add_generation_prompt``, ``bos_token``, ``eos_token``, ``raise_exception``).

Assistant prefill (``continue_final=True``) renders the conversation with a unique marker in
place of the last assistant message, cuts the result right after the marker and puts the
message back: whatever the template closes a turn with (``<|im_end|>``, ``<end_of_turn>``) is
dropped, so the model continues the message instead of starting a new turn.
"""

from __future__ import annotations

import datetime
import functools
import logging
import uuid
from collections.abc import Sequence
from typing import Any

from uniscale.errors import EngineError

__all__ = ["GEMMA_TURNS_TEMPLATE", "render_chat"]

logger = logging.getLogger(__name__)

#: Gemma's turn format (user/model turns, a system message folded into the first user turn),
#: for Gemma GGUF files that carry no template, such as the pretrained gemma-3-270m.
GEMMA_TURNS_TEMPLATE = (
    "{{ bos_token }}"
    "{% set sys = namespace(text='') %}"
    "{% for m in messages %}"
    "{% if m['role'] == 'system' %}{% set sys.text = sys.text + m['content'] + '\n\n' %}"
    "{% else %}"
    "{{ '<start_of_turn>' + ('model' if m['role'] == 'assistant' else 'user') + '\n' }}"
    "{% if m['role'] == 'user' %}{{ sys.text }}{% set sys.text = '' %}{% endif %}"
    "{{ m['content'] | trim }}<end_of_turn>\n"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)


def _raise(message: str) -> None:
    raise EngineError(f"chat template refused the messages: {message}")


@functools.lru_cache(maxsize=16)
def _compile(template: str) -> Any:
    import jinja2.sandbox  # only engines that render chats need jinja2

    env = jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = _raise
    env.globals["strftime_now"] = lambda fmt: datetime.datetime.now().strftime(fmt)
    try:
        return env.from_string(template)
    except jinja2.TemplateError as exc:
        raise EngineError(f"the model's chat template does not compile: {exc}") from exc


def render_chat(
    template: str,
    messages: Sequence[dict[str, str]],
    *,
    bos_token: str = "",
    eos_token: str = "",
    continue_final: bool = False,
) -> str:
    """Render chat messages into the prompt text the model was trained on.

    Parameters
    ----------
    template : str
        A Jinja chat template.
    messages : sequence of dict
        ``{"role": ..., "content": ...}`` items; checked by the caller.
    bos_token, eos_token : str
        Texts of the model's special tokens, which templates insert themselves.
    continue_final : bool
        Continue the last (assistant) message instead of opening a new assistant turn.

    Returns
    -------
    str
        The prompt text, special tokens written out (tokenize it with special-token parsing).
    """
    import jinja2

    compiled = _compile(template)
    variables = {"bos_token": bos_token, "eos_token": eos_token}
    try:
        if not continue_final:
            return compiled.render(messages=list(messages), add_generation_prompt=True, **variables)
        marker = f"<<uniscale-prefill-{uuid.uuid4().hex}>>"
        last = dict(messages[-1], content=marker)
        rendered = compiled.render(
            messages=[*messages[:-1], last], add_generation_prompt=False, **variables
        )
    except jinja2.TemplateError as exc:
        raise EngineError(f"rendering the chat template failed: {exc}") from exc
    cut = rendered.find(marker)
    if cut < 0:
        raise EngineError(
            "continue_final: the chat template dropped the final assistant message, so it "
            "cannot be continued"
        )
    return rendered[:cut] + messages[-1]["content"]
