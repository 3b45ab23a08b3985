"""VLLMRewardVerifier's requests and response handling, against a local FastAPI app that answers
like vLLM's ``/pooling`` endpoint (no real PRM runs here: no GPU, no PRM weights)."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

fastapi = pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

from test_strategies_logic import QUESTION, ScriptedEngine  # noqa: E402
from uniscale.errors import EngineError  # noqa: E402
from uniscale.strategies import BeamSearch, VLLMRewardVerifier  # noqa: E402

TAG = "<extra_0>"


def _app(mode: str = "ok") -> tuple[Any, list[dict]]:
    app = fastapi.FastAPI()
    seen: list[dict] = []

    @app.post("/pooling")
    async def pooling(body: dict) -> Any:
        seen.append(body)
        if mode == "500":
            return fastapi.responses.JSONResponse({"error": "boom"}, status_code=500)
        if mode == "garbage":
            return {"unexpected": True}
        assistant = body["messages"][-1]["content"]
        steps = assistant.split(TAG)[:-1]
        rows = [[0.9, 0.1] if "wrong" in s else [0.2, 0.8] for s in steps]
        if mode == "short":
            rows = rows[:-1]
        n_tokens = sum(len(m["content"].split()) for m in body["messages"])
        return {
            "id": "pool-1",
            "object": "list",
            "created": 0,
            "model": body["model"],
            "data": [{"index": 0, "object": "pooling", "data": rows}],
            "usage": {"prompt_tokens": n_tokens, "total_tokens": n_tokens, "completion_tokens": 0},
        }

    return app, seen


def _verifier(app: Any, **kwargs: Any) -> VLLMRewardVerifier:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
    return VLLMRewardVerifier("prm-test", base_url="http://prm.local", client=client, **kwargs)


def test_scores_steps_and_records_tokens() -> None:
    app, seen = _app()
    verifier = _verifier(app, params=1.5e9)

    async def go():
        out = await verifier.score(QUESTION, ["step one\n\nwrong step\n\nfinal", ["a", "b"], ""])
        await verifier.aclose()
        return out

    scores = asyncio.run(go())
    step_scores, offsets = scores
    np.testing.assert_allclose(step_scores, [0.8, 0.1, 0.8, 0.8, 0.8])
    assert offsets.tolist() == [0, 3, 5, 5]  # the empty solution is not sent
    assert len(seen) == 2
    first = seen[0]
    assert first["model"] == "prm-test"
    assert [m["role"] for m in first["messages"]] == ["system", "user", "assistant"]
    assert first["messages"][1]["content"] == QUESTION
    assert first["messages"][2]["content"] == f"step one{TAG}wrong step{TAG}final{TAG}"
    paths = scores.path_scores("min")
    np.testing.assert_allclose(paths[:2], [0.1, 0.8])
    assert np.isnan(paths[2])
    expected_tokens = sum(len(m["content"].split()) for body in seen for m in body["messages"])
    assert scores.counts.verifier_tokens == expected_tokens
    assert scores.counts.verifications[0].model == "prm-test"


@pytest.mark.parametrize(
    ("mode", "match"),
    [
        ("500", "answered HTTP 500"),
        ("garbage", "not a pooling response"),
        ("short", "returned 1 step scores for 2 steps"),
    ],
)
def test_bad_replies_raise_engine_error(mode: str, match: str) -> None:
    app, _ = _app(mode)
    verifier = _verifier(app)
    with pytest.raises(EngineError, match=match):
        asyncio.run(verifier.score(QUESTION, ["a\n\nb"]))


def test_unreachable_server_is_an_engine_error() -> None:
    verifier = VLLMRewardVerifier("prm", base_url="http://127.0.0.1:9", timeout_s=2.0)

    async def go():
        try:
            await verifier.score(QUESTION, ["a"])
        finally:
            await verifier.aclose()

    with pytest.raises(EngineError, match="request to http://127.0.0.1:9/pooling failed"):
        asyncio.run(go())


def test_constructor_validation() -> None:
    with pytest.raises(ValueError, match="base_url must be an http"):
        VLLMRewardVerifier("m", base_url="ftp://x")
    with pytest.raises(ValueError, match="step_tag must be a non-empty str"):
        VLLMRewardVerifier("m", base_url="http://x", step_tag="")
    with pytest.raises(TypeError, match="positive_index must be an int"):
        VLLMRewardVerifier("m", base_url="http://x", positive_index=1.0)


def test_beam_search_with_the_prm_counts_verification_cost() -> None:
    app, seen = _app()
    verifier = _verifier(app, params=1.5e9)
    engine = ScriptedEngine(answer_rate=0.3)
    res = asyncio.run(
        BeamSearch(qp=2, cp=2, bs=1, max_depth=4).run(QUESTION, engine, verifier=verifier, seed=0)
    )
    counts = res.cost.counts
    assert all(not call["logprobs"] for call in engine.calls)  # a PRM needs no logprobs
    assert len(counts.verifications) == counts.generate_calls  # one verifier batch per level
    assert counts.verifier_tokens > 0
    assert res.cost.eflops_parts.verify > 0
    assert len(seen) >= 4


def test_in_process_transport_builds_prompts_and_reads_step_rows(monkeypatch) -> None:
    # A stand-in for the vllm module (vLLM cannot run on this CPU machine): it records what it
    # is given and answers in vLLM's PoolingRequestOutput shape.
    import sys
    from types import ModuleType, SimpleNamespace

    made: list[dict] = []

    class FakeTokenizer:
        def apply_chat_template(self, messages, tokenize):
            assert tokenize is False
            return "|".join(f"{m['role']}:{m['content']}" for m in messages)

    class FakeLLM:
        def __init__(self, **kwargs):
            made.append(kwargs)

        def get_tokenizer(self):
            return FakeTokenizer()

        def reward(self, prompts):
            outs = []
            for text in prompts:
                n_steps = text.count(TAG)
                rows = [[0.3, 0.7]] * n_steps
                outs.append(
                    SimpleNamespace(
                        outputs=SimpleNamespace(data=np.array(rows)),
                        prompt_token_ids=list(range(len(text.split()))),
                    )
                )
            return outs

    fake = ModuleType("vllm")
    fake.LLM = FakeLLM
    monkeypatch.setitem(sys.modules, "vllm", fake)
    verifier = VLLMRewardVerifier("some/prm", llm_kwargs={"dtype": "bfloat16"})
    scores = asyncio.run(verifier.score(QUESTION, ["a\n\nb\n\nc", "d"]))
    np.testing.assert_allclose(scores.step_scores, [0.7, 0.7, 0.7, 0.7])
    assert scores.offsets.tolist() == [0, 3, 4]
    assert made == [{"model": "some/prm", "runner": "pooling", "dtype": "bfloat16"}]
    assert scores.counts.verifier_tokens > 0
