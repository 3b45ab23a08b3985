"""uniscale.engines.OpenAIEngine against real servers on 127.0.0.1.

- llama-cpp-python's own OpenAI-compatible server with SmolLM2-135M, started in a subprocess:
  completions, chat, samples, log-probabilities, usage, unknown model, prompt too long, and a
  server killed in the middle of a request.
- A small scripted HTTP server from the standard library (a real socket server, in a thread)
  for what a healthy model server cannot be made to do on cue: 429/503 replies, slow replies,
  counting requests in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from uniscale.engines import ModelInfo, get_engine, resolve_gguf
from uniscale.engines.openai_http import OpenAIEngine
from uniscale.errors import EngineError

QUESTION = [{"role": "user", "content": "What is 2+3? Answer with a number."}]


def run(coro):
    return asyncio.run(coro)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def llama_server(log_dir: Path, n_ctx: int = 1024) -> Iterator[tuple[str, subprocess.Popen]]:
    """llama-cpp-python's server with SmolLM2 on a free loopback port; stopped on exit."""
    pytest.importorskip("llama_cpp.server.app", reason="llama-cpp-python[server] not installed")
    port = _free_port()
    log = (log_dir / f"llama_server_{port}.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(resolve_gguf("smollm2-135m")),
            "--model_alias",
            "smollm2-135m",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            str(n_ctx),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"llama server exited: {(log_dir / log.name).read_text()}")
            try:
                if httpx.get(f"{base_url}/models", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("llama server did not start within 90 s")
            time.sleep(0.3)
        yield base_url, process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with llama_server(tmp_path_factory.mktemp("llama_server")) as (url, _):
        yield url


# -- against llama-cpp-python's server -----------------------------------------------------------
@pytest.mark.slow
def test_completions_and_chat_with_samples_and_logprobs(server_url: str) -> None:
    engine = get_engine(f"openai:{server_url}#smollm2-135m")
    out = run(
        engine.generate(
            ["The capital of France is", QUESTION],
            n=2,
            max_tokens=6,
            temperature=0.9,
            seed=3,
            logprobs=True,
        )
    )
    run(engine.aclose())
    assert [len(samples) for samples in out] == [2, 2]  # the server ignores n: filled up
    assert out[0][0].prompt_tokens == 5
    assert out[1][0].prompt_tokens > 20  # chat template applied by the server
    for samples in out:
        for c in samples:
            assert 1 <= c.completion_tokens <= 6
            assert c.finish_reason in ("stop", "length")
            assert c.logprobs is not None and len(c.logprobs) == c.completion_tokens
            assert all(lp <= 0 for lp in c.logprobs)
    assert engine.info.name == "smollm2-135m"


@pytest.mark.slow
def test_greedy_text_matches_the_embedded_engine(server_url: str) -> None:
    """Same GGUF, same llama.cpp: the server's greedy reply equals the in-process one (once
    the server's default repetition penalty of 1.1 is switched off)."""
    embedded = get_engine({"engine": "llama", "model": "smollm2-135m", "n_ctx": 1024})
    # the server's only model is picked
    remote = OpenAIEngine(server_url, extra_body={"repeat_penalty": 1.0})
    try:
        [[ours]] = run(
            embedded.generate(["The capital of France is"], max_tokens=8, temperature=0.0)
        )
        [[theirs]] = run(
            remote.generate(["The capital of France is"], max_tokens=8, temperature=0.0)
        )
    finally:
        run(embedded.aclose())
        run(remote.aclose())
    assert theirs.text == ours.text
    assert (theirs.prompt_tokens, theirs.completion_tokens) == (
        ours.prompt_tokens,
        ours.completion_tokens,
    )


@pytest.mark.slow
def test_unknown_model_and_prompt_longer_than_context(server_url: str) -> None:
    with pytest.raises(
        EngineError, match=r"unknown model 'llama-70b': .* serves \['smollm2-135m'\]"
    ):
        run(OpenAIEngine(server_url, "llama-70b").generate(["hi"], max_tokens=1))
    engine = OpenAIEngine(server_url, "smollm2-135m")
    with pytest.raises(EngineError, match=r"HTTP 400 .*maximum context length is 1024 tokens"):
        run(engine.generate(["word " * 1500], max_tokens=4))
    [[ok]] = run(engine.generate(["word"], max_tokens=1))  # the engine is still usable
    assert ok.completion_tokens == 1
    run(engine.aclose())


@pytest.mark.slow
def test_server_killed_mid_request_gives_a_clear_error(tmp_path: Path) -> None:
    # A long deterministic answer (about 3000 tokens of context), and the kill soon after the
    # request went out: on a quiet machine SmolLM2 writes a few hundred tokens per second.
    with llama_server(tmp_path, n_ctx=4096) as (url, process):
        engine = OpenAIEngine(url, max_retries=2, backoff_s=0.2, timeout_s=60)
        run(engine.generate(["warm up"], max_tokens=1))

        async def killed_while_generating() -> float:
            task = asyncio.ensure_future(
                engine.generate(
                    ["Count from 1 to 2000, one number per line."],
                    max_tokens=3000,
                    temperature=0.0,
                )
            )
            await asyncio.sleep(0.4)  # the request is being served now
            assert not task.done()
            os.kill(process.pid, signal.SIGKILL)
            started = time.monotonic()
            with pytest.raises(EngineError, match=r"unreachable or failing after 3 attempts"):
                await asyncio.wait_for(task, timeout=30)
            return time.monotonic() - started

        elapsed = run(killed_while_generating())
        assert elapsed < 10
        run(engine.aclose())


def test_unreachable_server_fails_fast() -> None:
    engine = OpenAIEngine(f"http://127.0.0.1:{_free_port()}/v1", max_retries=2, backoff_s=0.05)
    started = time.monotonic()
    with pytest.raises(EngineError, match=r"/models: server unreachable .* ConnectError"):
        run(engine.generate(["hi"], max_tokens=1))
    assert time.monotonic() - started < 5


def test_constructor_checks() -> None:
    with pytest.raises(ValueError, match=r"OpenAIEngine: base_url must start with http"):
        OpenAIEngine("127.0.0.1:8000/v1")
    with pytest.raises(ValueError, match=r"OpenAIEngine: max_concurrency must be an int >= 1"):
        OpenAIEngine("http://127.0.0.1:1/v1", max_concurrency=0)
    with pytest.raises(ValueError, match=r"OpenAIEngine: timeout_s must be a positive number"):
        OpenAIEngine("http://127.0.0.1:1/v1", timeout_s=0)
    with pytest.raises(TypeError, match=r"OpenAIEngine: info must be a ModelInfo"):
        OpenAIEngine("http://127.0.0.1:1/v1", info={"params": 1})  # type: ignore[arg-type]
    engine = get_engine("openai:http://127.0.0.1:1/v1#m")
    assert isinstance(engine, OpenAIEngine) and engine.model == "m"


# -- against a scripted server ---------------------------------------------------------------
class Script:
    """What the scripted server answers, and what it saw."""

    def __init__(
        self,
        statuses: list[int] | None = None,
        delay_s: float = 0.0,
        honour_n: bool = True,
        retry_after: str | None = None,
    ) -> None:
        self.statuses = list(statuses or [])
        self.delay_s = delay_s
        self.honour_n = honour_n
        self.retry_after = retry_after
        self.requests: list[dict] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()


def _handler(script: Script) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # keep test output clean
            pass

        def _send(self, status: int, body: dict, headers: dict | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self._send(200, {"data": [{"id": "m", "max_model_len": 2048}]})

        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with script.lock:
                script.requests.append(body)
                script.in_flight += 1
                script.max_in_flight = max(script.max_in_flight, script.in_flight)
                status = script.statuses.pop(0) if script.statuses else 200
            try:
                time.sleep(script.delay_s)
                if status != 200:
                    headers = {"Retry-After": script.retry_after} if script.retry_after else None
                    self._send(status, {"error": {"message": f"scripted {status}"}}, headers)
                    return
                n = body["n"] if script.honour_n else 1
                choices = [
                    {
                        "index": i,
                        "text": f"sample {i}",
                        "finish_reason": "length",
                        "logprobs": {"token_logprobs": [-0.5] * (i + 2)},
                    }
                    for i in range(n)
                ]
                usage = {"prompt_tokens": 3, "completion_tokens": sum(i + 2 for i in range(n))}
                self._send(200, {"choices": choices, "usage": usage})
            finally:
                with script.lock:
                    script.in_flight -= 1

    return Handler


@contextlib.contextmanager
def scripted_server(script: Script) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(script))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_retries_transient_statuses_then_succeeds() -> None:
    script = Script(statuses=[503, 429, 502])
    with scripted_server(script) as url:
        engine = OpenAIEngine(url, max_retries=3, backoff_s=0.01)
        [[c]] = run(engine.generate(["q"], max_tokens=4))
        run(engine.aclose())
    assert len(script.requests) == 4
    assert (c.text, c.prompt_tokens, c.completion_tokens) == ("sample 0", 3, 2)
    assert engine.info.context_length == 2048  # read from the server's model card


def test_gives_up_after_the_retries_and_honours_retry_after() -> None:
    script = Script(statuses=[500] * 10, retry_after="0.3")
    with scripted_server(script) as url:
        engine = OpenAIEngine(url, max_retries=2, backoff_s=0.01, max_backoff_s=0.3)
        started = time.monotonic()
        with pytest.raises(EngineError, match=r"failing after 3 attempts \(last: HTTP 500: scr"):
            run(engine.generate(["q"], max_tokens=4))
        elapsed = time.monotonic() - started
    assert len(script.requests) == 3
    assert elapsed >= 2 * 0.3 * 0.5  # two waits of at least half the Retry-After (jitter)


def test_client_errors_are_not_retried() -> None:
    script = Script(statuses=[400])
    with scripted_server(script) as url:
        with pytest.raises(EngineError, match=r"HTTP 400 from the server: scripted 400"):
            run(OpenAIEngine(url, backoff_s=0.01).generate(["q"], max_tokens=4))
    assert len(script.requests) == 1


def test_read_timeout_is_reported_not_retried() -> None:
    script = Script(delay_s=1.5)
    with scripted_server(script) as url:
        engine = OpenAIEngine(url, timeout_s=0.3, backoff_s=0.01)
        with pytest.raises(EngineError, match=r"no reply within 0.3 s"):
            run(engine.generate(["q"], max_tokens=4))
    assert len(script.requests) == 1


def test_concurrency_is_limited() -> None:
    script = Script(delay_s=0.2)
    with scripted_server(script) as url:
        engine = OpenAIEngine(url, max_concurrency=2)
        out = run(engine.generate([f"q{i}" for i in range(6)], max_tokens=4))
    assert len(out) == 6 and len(script.requests) == 6
    assert script.max_in_flight == 2


def test_samples_per_choice_counts_and_servers_that_ignore_n() -> None:
    script = Script(honour_n=True)
    with scripted_server(script) as url:
        [samples] = run(OpenAIEngine(url).generate(["q"], n=3, max_tokens=4, seed=9))
    assert [c.completion_tokens for c in samples] == [2, 3, 4]  # from each choice's logprobs
    assert [c.logprobs for c in samples] == [None, None, None]  # not asked for
    assert script.requests[0]["logprobs"] == 1 and script.requests[0]["n"] == 3

    script = Script(honour_n=False)
    with scripted_server(script) as url:
        engine = OpenAIEngine(url, info=ModelInfo("ignored", params=1.35e8))
        [samples] = run(engine.generate(["q"], n=3, max_tokens=4, seed=9, logprobs=True))
        assert len(samples) == 3 and len(script.requests) == 3  # 1 asked n=3, then 2 with n=1
        seeds = {r["seed"] for r in script.requests}
        assert len(seeds) == 3  # each extra request has its own seed
        run(engine.generate(["q"], n=2, max_tokens=4))
        assert [r["n"] for r in script.requests[3:]] == [1, 1]  # remembered
    assert engine.info.params == 1.35e8 and engine.info.name == "m"
