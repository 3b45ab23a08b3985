"""The OpenAI-compatible router server, driven by the official ``openai`` client over real HTTP.

Each test starts uvicorn on a free 127.0.0.1 port in a thread (so the app's lifespan -- snapshot
at shutdown, engines closed -- runs as in production). Tests without the ``slow`` mark never
generate; the slow ones run SmolLM2-135M for a few dozen tokens.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from uniscale.router import ArmSpace, Router
from uniscale.runner.pipeline import Pipeline
from uniscale.runner.setup import make_pipeline
from uniscale.server.app import ARM_HEADER, DECISION_HEADER, ServeConfig, create_app

openai = pytest.importorskip("openai")
pytest.importorskip("uvicorn")

QUESTION = "Tom has 3 apples and buys 4 more. How many apples does he have now?"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serving(pipeline: Pipeline, config: ServeConfig | None = None) -> Iterator[str]:
    """Run the app in a uvicorn thread; yields the base URL; stops it (lifespan shutdown)."""
    import uvicorn

    app = create_app(pipeline, config)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=60)


def _space(models: list[dict], strategies: list[dict] | None = None) -> ArmSpace:
    strategies = strategies or [{"name": "single", "kind": "single", "fixed": {"greedy": True}}]
    return ArmSpace(models, strategies)


SMOL = {"name": "smollm2-135m", "engine": "llama:smollm2-135m", "params": 135e6}


def _down_model() -> dict:
    # A real OpenAI-compatible engine pointed at a port nobody listens on.
    return {"name": "down", "engine": f"openai:http://127.0.0.1:{_free_port()}/v1#x", "params": 1e9}


@pytest.fixture(scope="module")
def smol() -> Iterator[object]:
    """One SmolLM2 engine for the module's generating tests (loading it takes seconds)."""
    import asyncio

    from uniscale.engines import get_engine

    engine = get_engine("llama:smollm2-135m")
    yield engine
    asyncio.run(engine.aclose())


def _pipeline(
    models: list[dict] | None = None, *, fallback: int = 0, smol: object = None, **router_kw
) -> Pipeline:
    router_kw.setdefault("warmup", 0)
    router = Router(_space(models or [SMOL]), reward="cost_sensitive", **router_kw)
    engines = None if smol is None else {"smollm2-135m": smol}
    return Pipeline(router=router, fallback=fallback, default_max_tokens=32, engines=engines)


def _client(base: str, key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{base}/v1", api_key=key, max_retries=0, timeout=120)


def _chat(base: str, **kwargs):
    with _client(base) as client:
        return client.chat.completions.create(
            model="uniscale", messages=[{"role": "user", "content": QUESTION}], **kwargs
        )


# --------------------------------------------------------------------------- no generation


def test_health_arms_models_and_metrics() -> None:
    pipeline = _pipeline()
    with serving(pipeline) as base:
        health = httpx.get(f"{base}/health").json()
        assert health == {"status": "ok", "arms": 1, "decisions": 0, "pending_feedback": 0}
        arms = httpx.get(f"{base}/v1/arms").json()["data"]
        assert arms == [
            {
                "index": 0,
                "id": "smollm2-135m/single/greedy=True",
                "model": "smollm2-135m",
                "strategy": "single",
                "kind": "single",
                "params": {"greedy": True},
                "engine": "llama:smollm2-135m",
            }
        ]
        with _client(base) as client:
            models = [m.id for m in client.models.list()]
        assert models == ["uniscale", "smollm2-135m"]
        text = httpx.get(f"{base}/metrics").text
        assert "uniscale_pending_feedback 0.0" in text
        assert 'uniscale_requests_total{endpoint="/v1/arms",status="200"} 1.0' in text


def test_api_key_guards_every_endpoint() -> None:
    with serving(_pipeline(), ServeConfig(api_key="s3cret")) as base:
        # Liveness probes carry no key: /health answers them with the status and nothing else.
        probe = httpx.get(f"{base}/health", headers={"X-API-Key": "wrong"})
        assert (probe.status_code, probe.json()) == (200, {"status": "ok"})
        full = httpx.get(f"{base}/health", headers={"X-API-Key": "s3cret"}).json()
        assert set(full) == {"status", "arms", "decisions", "pending_feedback"}
        assert httpx.post(f"{base}/health").status_code == 401
        for path in ("/metrics", "/v1/arms", "/v1/models"):
            r = httpx.get(f"{base}{path}")
            assert r.status_code == 401, path
            assert r.json()["error"]["code"] == "invalid_api_key"
            assert httpx.get(f"{base}{path}", headers={"X-API-Key": "wrong"}).status_code == 401
            assert httpx.get(f"{base}{path}", headers={"X-API-Key": "s3cret"}).status_code == 200
        r = httpx.post(f"{base}/v1/feedback", json={"decision_id": "x", "correct": True})
        assert r.status_code == 401
        with _client(base, "wrong") as wrong, _client(base, "s3cret") as right:
            with pytest.raises(openai.AuthenticationError, match="API key"):
                wrong.models.list()
            assert [m.id for m in right.models.list()][0] == "uniscale"
            with pytest.raises(openai.AuthenticationError):
                wrong.chat.completions.create(
                    model="uniscale", messages=[{"role": "user", "content": QUESTION}]
                )


@pytest.mark.parametrize(
    ("path", "body", "match"),
    [
        ("/v1/chat/completions", {"model": "uniscale", "messages": []}, "messages"),
        (
            "/v1/chat/completions",
            {"model": "uniscale", "messages": [{"role": "system", "content": "be brief"}]},
            "at least one message with role 'user'",
        ),
        (
            "/v1/chat/completions",
            {"model": "uniscale", "messages": [{"role": "user", "content": "hi"}], "stream": True},
            "stream=true is not supported",
        ),
        (
            "/v1/chat/completions",
            {"model": "uniscale", "messages": [{"role": "user", "content": "hi"}], "n": 3},
            "n must be 1",
        ),
        (
            "/v1/chat/completions",
            {"model": "uniscale", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 0},
            "max_tokens",
        ),
        (
            "/v1/chat/completions",
            {"model": "gpt-9", "messages": [{"role": "user", "content": "hi"}]},
            "expected 'uniscale'",
        ),
        (
            "/v1/chat/completions",
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]},
            "only text content parts",
        ),
        ("/v1/chat/completions", {"messages": [{"role": "wizard", "content": "x"}]}, "role"),
        ("/v1/completions", {"model": "uniscale"}, "prompt"),
        ("/v1/completions", {"model": "uniscale", "prompt": ["a", "b"]}, "a list of 2"),
        ("/v1/completions", {"model": "uniscale", "prompt": "   "}, "non-empty"),
        ("/v1/feedback", {"correct": True}, "decision_id"),
        ("/v1/feedback", {"decision_id": "a", "verifier": 1.5}, "verifier"),
        ("/v1/feedback", {"decision_id": "a", "correct": True, "colour": 1}, "colour"),
    ],
)
def test_bad_requests_get_400_with_a_clear_message(path: str, body: dict, match: str) -> None:
    pipeline = _pipeline()
    with serving(pipeline) as base:
        r = httpx.post(f"{base}{path}", json=body)
        assert r.status_code == 400, r.text
        err = r.json()["error"]
        assert match in err["message"]
        assert err["type"] == "invalid_request_error"
        assert httpx.get(f"{base}/health").json()["decisions"] == 0
    # Nothing was decided: the router is as it was.
    assert pipeline.router.n_pending == 0
    assert pipeline.decisions_made() == 0


def test_malformed_json_and_unknown_routes() -> None:
    with serving(_pipeline()) as base:
        r = httpx.post(
            f"{base}/v1/chat/completions",
            content=b'{"messages": [',
            headers={"Content-Type": "application/json"},
        )
        assert r.status_code == 400
        assert "not valid JSON" in r.json()["error"]["message"]
        r = httpx.get(f"{base}/v1/nothing")
        assert r.status_code == 404
        assert r.json()["error"]["type"] == "not_found_error"
        text = httpx.get(f"{base}/metrics").text
        assert 'uniscale_requests_total{endpoint="other",status="404"} 1.0' in text
        assert "/v1/nothing" not in text
        with (
            _client(base) as client,
            pytest.raises(openai.BadRequestError, match="stream=true is not supported"),
        ):
            client.chat.completions.create(
                model="uniscale", messages=[{"role": "user", "content": "hi"}], stream=True
            )


def test_feedback_for_an_unknown_decision_is_404() -> None:
    with serving(_pipeline()) as base:
        r = httpx.post(f"{base}/v1/feedback", json={"decision_id": "nope", "correct": True})
        assert r.status_code == 404
        assert "'nope' is unknown" in r.json()["error"]["message"]


def _answered(pipeline: Pipeline) -> str:
    """A decision in the state an answered request leaves it: decided, its cost told."""
    decision = pipeline.router.decide(QUESTION)
    pipeline.router.feedback(decision.id, cost=1e-3)
    return str(decision.id)


@pytest.mark.parametrize("body", [{}, {"correct": None}, {"correct": None, "verifier": None}])
def test_feedback_without_an_outcome_is_a_400_and_changes_nothing(body: dict) -> None:
    pipeline = _pipeline(warmup=2)
    did = _answered(pipeline)
    before = pipeline.router.store.state()[0]
    updates = pipeline.router.policy.n_updates
    with serving(pipeline) as base:
        r = httpx.post(f"{base}/v1/feedback", json={"decision_id": did, **body})
        assert r.status_code == 400, r.text
        err = r.json()["error"]
        assert "'correct'" in err["message"] and "'verifier'" in err["message"]
        assert err["param"] == "correct"
        assert pipeline.router.store.state()[0] == before
        assert pipeline.router.policy.n_updates == updates
        assert httpx.get(f"{base}/health").json()["pending_feedback"] == 1
        # The decision is still open: a real outcome closes it.
        r = httpx.post(f"{base}/v1/feedback", json={"decision_id": did, "verifier": 0.5})
        assert r.status_code == 200, r.text
        assert r.json()["reward"] is not None


@pytest.mark.parametrize(
    ("path", "raw", "param"),
    [
        (
            "/v1/chat/completions",
            b'{"messages": [{"role": "user", "content": "hi \\ud800 there"}]}',
            "messages",
        ),
        ("/v1/completions", b'{"prompt": "hi \\ud800 there"}', "prompt"),
        ("/v1/completions", b'{"prompt": ["\\udfff"]}', "prompt"),
    ],
)
def test_a_lone_surrogate_is_a_400_naming_the_field(path: str, raw: bytes, param: str) -> None:
    pipeline = _pipeline()
    with serving(pipeline) as base:
        r = httpx.post(f"{base}{path}", content=raw, headers={"Content-Type": "application/json"})
        assert r.status_code == 400, r.text
        err = r.json()["error"]
        assert err["param"] == param
        assert err["message"].startswith(f"{param}: expected valid Unicode text")
        assert "surrogate" in err["message"]
    assert pipeline.router.n_pending == 0 and pipeline.decisions_made() == 0


def test_pending_decisions_survive_a_restart_without_generating(tmp_path: Path) -> None:
    state = tmp_path / "srvstate"
    first = _pipeline(warmup=2)
    with serving(first, ServeConfig(save_dir=state, snapshot_every_s=0)):
        did = _answered(first)
    # What `uniscale serve --load srvstate` builds.
    second = make_pipeline(load=state)
    with serving(second) as base:
        health = httpx.get(f"{base}/health").json()
        assert (health["decisions"], health["pending_feedback"]) == (1, 1)
        r = httpx.post(f"{base}/v1/feedback", json={"decision_id": did, "correct": True})
        assert r.status_code == 200, r.text
        assert r.json()["arm"] == "smollm2-135m/single/greedy=True"
        assert httpx.get(f"{base}/health").json()["pending_feedback"] == 0


def test_engine_failure_is_a_502_and_the_server_survives() -> None:
    pipeline = _pipeline([_down_model()])
    with serving(pipeline) as base:
        with _client(base) as client, pytest.raises(openai.InternalServerError) as info:
            client.chat.completions.create(
                model="uniscale", messages=[{"role": "user", "content": QUESTION}]
            )
        assert info.value.status_code == 502
        assert "engine failure" in info.value.message and "'down'" in info.value.message
        assert httpx.get(f"{base}/health").json()["status"] == "ok"
        text = httpx.get(f"{base}/metrics").text
        assert 'uniscale_engine_errors_total{model="down"} 1.0' in text
    # The failed decision was closed without a reward: nothing learned, nothing pending.
    assert pipeline.router.n_pending == 0
    assert pipeline.router.policy.n_updates == 0
    assert pipeline.pending_count() == 0


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="api_key must be a non-empty string"):
        ServeConfig(api_key="")
    with pytest.raises(ValueError, match="snapshot_every_s must be >= 0"):
        ServeConfig(snapshot_every_s=-1)
    with pytest.raises(ValueError, match="no engine spec"):
        _pipeline([{"name": "m", "params": 1e9}])
    with pytest.raises(ValueError, match="fallback must be an integer >= 0"):
        Pipeline(router=Router(_space([SMOL])), fallback=-1)


# ------------------------------------------------------------------------- real generation


@pytest.mark.slow
def test_chat_completion_feedback_and_metrics(smol: object) -> None:
    pipeline = _pipeline(smol=smol)
    with serving(pipeline) as base:
        with _client(base) as client:
            raw = client.chat.completions.with_raw_response.create(
                model="uniscale",
                messages=[
                    {"role": "system", "content": "You are terse."},
                    {"role": "user", "content": QUESTION},
                ],
                max_tokens=24,
                extra_body={"uniscale": {"answer_kind": "math"}},
            )
            reply = raw.parse()
        info = reply.model_extra["uniscale"]
        assert raw.headers[DECISION_HEADER] == info["decision_id"]
        assert raw.headers[ARM_HEADER] == info["arm"] == reply.model
        assert info["arm"] == "smollm2-135m/single/greedy=True"
        assert reply.choices[0].message.role == "assistant"
        assert reply.choices[0].message.content
        assert reply.usage.completion_tokens <= 24
        assert info["cost"]["eflops"] > 0
        assert info["propensity"] == pytest.approx(1.0)
        health = httpx.get(f"{base}/health").json()
        assert (health["decisions"], health["pending_feedback"]) == (1, 1)

        r = httpx.post(
            f"{base}/v1/feedback", json={"decision_id": info["decision_id"], "correct": True}
        )
        assert r.status_code == 200, r.text
        fb = r.json()
        assert fb["arm"] == info["arm"] and 0.0 <= fb["reward"] <= 1.0
        # The decision is closed: a second feedback is unknown to the server.
        again = httpx.post(
            f"{base}/v1/feedback", json={"decision_id": info["decision_id"], "correct": False}
        )
        assert again.status_code == 404

        text = httpx.get(f"{base}/metrics").text
        arm = 'arm="smollm2-135m/single/greedy=True"'
        assert f"uniscale_decisions_total{{{arm}}} 1.0" in text
        assert f"uniscale_feedback_total{{{arm}}} 1.0" in text
        assert f"uniscale_reward_count{{{arm}}} 1.0" in text
        assert f"uniscale_arm_latency_seconds_count{{{arm}}} 1.0" in text
        assert "uniscale_pending_feedback 0.0" in text
    assert pipeline.router.policy.n_updates == 1


@pytest.mark.slow
def test_completions_endpoint_with_model_restriction(smol: object) -> None:
    pipeline = _pipeline([_down_model(), SMOL], smol=smol)
    with serving(pipeline) as base:
        with _client(base) as client:
            reply = client.completions.create(model="smollm2-135m", prompt=QUESTION, max_tokens=16)
        info = reply.model_extra["uniscale"]
        assert info["model"] == "smollm2-135m" and info["fallback_from"] == []
        assert reply.object == "text_completion"
        assert isinstance(reply.choices[0].text, str) and reply.choices[0].text


@pytest.mark.slow
def test_engine_failure_falls_back_to_another_model(smol: object) -> None:
    # Greedy with no data ties every arm and takes the lowest index: the dead model first.
    pipeline = _pipeline([_down_model(), SMOL], fallback=1, policy="greedy", smol=smol)
    with serving(pipeline) as base:
        reply = _chat(base, max_tokens=16)
        info = reply.model_extra["uniscale"]
        assert info["model"] == "smollm2-135m"
        assert info["fallback_from"] == ["down"]
        text = httpx.get(f"{base}/metrics").text
        assert 'uniscale_engine_errors_total{model="down"} 1.0' in text


@pytest.mark.slow
def test_restart_from_snapshot(tmp_path: Path, smol: object) -> None:
    state = tmp_path / "state"
    first = _pipeline(seed=3, smol=smol)
    with serving(first, ServeConfig(save_dir=state, snapshot_every_s=0)) as base:
        reply = _chat(base, max_tokens=16)
        did = reply.model_extra["uniscale"]["decision_id"]
        r = httpx.post(f"{base}/v1/feedback", json={"decision_id": did, "correct": True})
        assert r.status_code == 200
        # Answered but not yet graded when the server stops.
        waiting = _chat(base, max_tokens=16).model_extra["uniscale"]["decision_id"]
    # Saved at shutdown.
    assert (state / "router.json").is_file()
    meta = json.loads((state / "router.json").read_text())
    assert meta["format"] == "uniscale.router"
    restored = Router.load(state)
    assert restored.policy.n_updates == first.router.policy.n_updates == 1
    assert restored.n_pending == 1  # the second answer waits for its outcome
    # What `uniscale serve --load state` builds, with the module's engine already open.
    second = make_pipeline(load=state, max_tokens=16)
    second.engines = {"smollm2-135m": smol}
    with serving(second) as base:
        health = httpx.get(f"{base}/health").json()
        assert (health["decisions"], health["pending_feedback"]) == (2, 1)
        # Feedback for a decision answered before the restart.
        r = httpx.post(f"{base}/v1/feedback", json={"decision_id": waiting, "correct": False})
        assert r.status_code == 200, r.text
        assert r.json()["reward"] is not None
        reply = _chat(base, max_tokens=16)
        # Decision ids continue where the first server stopped.
        did2 = reply.model_extra["uniscale"]["decision_id"]
        assert did2 not in (did, waiting) and did2.split("-")[0] == did.split("-")[0]
    assert second.router.policy.n_updates == 2


@pytest.mark.slow
def test_cut_answers_and_too_long_prompts(smol: object) -> None:
    pipeline = _pipeline(smol=smol)
    with serving(pipeline) as base:
        # Two tokens cannot finish an answer: the engine cut it, and the client is told.
        reply = _chat(base, max_tokens=2)
        assert reply.choices[0].finish_reason == "length"
        assert reply.usage.completion_tokens <= 2
        with _client(base) as client:
            cut = client.completions.create(model="uniscale", prompt=QUESTION, max_tokens=2)
        assert cut.choices[0].finish_reason == "length"
        # A question longer than the context is the client's to fix: 400, not an engine error.
        n_ctx = smol.info.context_length
        long_question = "apple " * (2 * n_ctx)
        r = httpx.post(
            f"{base}/v1/chat/completions",
            json={"messages": [{"role": "user", "content": long_question}]},
        )
        assert r.status_code == 400, r.text
        err = r.json()["error"]
        assert (err["param"], err["code"]) == ("messages", "context_length_exceeded")
        assert f"({n_ctx} tokens" in err["message"]
        r = httpx.post(f"{base}/v1/completions", json={"prompt": long_question})
        assert (r.status_code, r.json()["error"]["param"]) == (400, "prompt")
        text = httpx.get(f"{base}/metrics").text
        assert "uniscale_engine_errors_total{" not in text
        assert httpx.get(f"{base}/health").json()["pending_feedback"] == 2
    assert pipeline.router.n_pending == 2  # the two cut answers; nothing left by the 400s


def test_periodic_snapshots(tmp_path: Path) -> None:
    state = tmp_path / "periodic"
    with serving(_pipeline(), ServeConfig(save_dir=state, snapshot_every_s=0.2)):
        deadline = time.monotonic() + 10
        while not (state / "router.json").is_file() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (state / "router.json").is_file()


def test_example_vllm_config_builds_without_contacting_servers() -> None:
    from uniscale.runner.setup import make_pipeline

    path = Path(__file__).resolve().parents[1] / "examples" / "arms_vllm.yaml"
    pipeline = make_pipeline(arms=path)
    assert pipeline.model_names() == ["qwen3-0.6b", "qwen3-8b"]
    assert len(pipeline.arms()) == 20
    assert all(a["engine"].startswith("openai:http://127.0.0.1:800") for a in pipeline.arms())


@contextlib.contextmanager
def _openai_compatible_server(tmp_path: Path) -> Iterator[str]:
    """llama-cpp-python's OpenAI-compatible server with SmolLM2 (standing in for vLLM)."""
    import subprocess
    import sys

    pytest.importorskip("llama_cpp.server.app", reason="llama-cpp-python[server] not installed")
    from uniscale.engines import resolve_gguf

    port = _free_port()
    log = (tmp_path / "llama_server.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(resolve_gguf("smollm2-135m")),
            "--model_alias",
            "smol-remote",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "1024",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError((tmp_path / "llama_server.log").read_text())
            try:
                if httpx.get(f"{base}/models", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("llama_cpp.server did not start within 90 s")
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.mark.slow
def test_routing_to_an_openai_compatible_server_by_url(tmp_path: Path) -> None:
    with _openai_compatible_server(tmp_path) as upstream:
        remote = {
            "name": "remote",
            "engine": f"openai:{upstream}#smol-remote",
            "params": 135e6,
            "n_layers": 30,
            "hidden_size": 576,
            "gqa_ratio": 3.0,
        }
        pipeline = _pipeline([remote])
        with serving(pipeline) as base:
            reply = _chat(base, max_tokens=16)
            info = reply.model_extra["uniscale"]
            assert info["model"] == "remote" and info["arm"] == "remote/single/greedy=True"
            assert reply.choices[0].message.content
            assert info["cost"]["completion_tokens"] >= 1 and info["cost"]["eflops"] > 0


@pytest.mark.slow
def test_concurrent_requests_share_one_engine() -> None:
    import asyncio

    # No engine passed in: both requests race to open SmolLM2, which must happen once.
    pipeline = _pipeline()
    with serving(pipeline) as base:

        async def both() -> list:
            async with openai.AsyncOpenAI(
                base_url=f"{base}/v1", api_key="unused", max_retries=0, timeout=180
            ) as client:
                return await asyncio.gather(
                    *(
                        client.completions.create(model="uniscale", prompt=q, max_tokens=12)
                        for q in (QUESTION, "What is 6 times 7?")
                    )
                )

        replies = asyncio.run(both())
        ids = {r.model_extra["uniscale"]["decision_id"] for r in replies}
        assert len(ids) == 2
        health = httpx.get(f"{base}/health").json()
        assert (health["decisions"], health["pending_feedback"]) == (2, 2)
        assert len(pipeline._engines) == 1  # opened once despite the race
