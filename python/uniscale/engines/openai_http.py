"""Any OpenAI-compatible server over HTTP: ``vllm serve``, SGLang, llama-cpp-python's server.

Raw text prompts go to ``/completions``, chat messages to ``/chat/completions``. Each prompt is
one request with ``n`` samples; servers that return fewer choices than asked (llama-cpp-python's
ignores ``n``) are sent the missing samples as further requests, and the engine remembers to do
so from then on. Requests run concurrently up to ``max_concurrency``.

Failures: connection errors, HTTP 429 and 5xx are retried with exponential backoff (with
jitter, honouring ``Retry-After``); when the retries are used up, or on any other HTTP error
(unknown model, prompt longer than the context), :class:`~uniscale.errors.EngineError` is
raised with the server's own message (:class:`~uniscale.errors.ContextLengthError` for a 400
that names the context). A read timeout is not retried: the server is busy, and
sending the same generation again would only add to its load.

Assistant prefill (``continue_final=True``) sends vLLM's and SGLang's
``continue_final_message`` / ``add_generation_prompt`` request fields.
TODO(uniscale): llama-cpp-python's server ignores those fields and opens a new assistant turn;
prefill against it would need the chat template on the client side, which it does not expose.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import httpx

from uniscale.engines.base import (
    Completion,
    Engine,
    GenerateArgs,
    ModelInfo,
    Prompt,
    check_generate_args,
)
from uniscale.errors import ContextLengthError, EngineError

__all__ = ["OpenAIEngine"]

logger = logging.getLogger(__name__)

_TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_TRANSIENT_ERRORS = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.RemoteProtocolError,
    httpx.ReadError,
    httpx.WriteError,
)


def _server_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    error = body.get("error", body) if isinstance(body, dict) else body
    if isinstance(error, dict):
        return str(error.get("message") or error.get("detail") or error)[:500]
    return str(error)[:500]


def _derived_seed(seed: int | None, prompt_index: int, extra: int) -> int | None:
    """Distinct, reproducible seeds for the extra requests of servers that ignore ``n``."""
    if seed is None:
        return None
    return (seed * 1_000_003 + prompt_index * 10_007 + extra) % (2**31 - 1)


class OpenAIEngine(Engine):
    """An OpenAI-compatible HTTP server.

    Parameters
    ----------
    base_url : str
        The API root, e.g. ``"http://127.0.0.1:8000/v1"``.
    model : str, optional
        Model id on the server; default the server's only model.
    api_key : str, optional
        Sent as a bearer token.
    max_concurrency : int
        Requests in flight at once.
    timeout_s : float
        Seconds to wait for a reply (per request).
    connect_timeout_s : float
        Seconds to wait for a connection.
    max_retries : int
        Retries of a request after a transient failure.
    backoff_s, max_backoff_s : float
        First wait before a retry, doubled each time up to the maximum.
    info : ModelInfo, optional
        Model facts the server does not report (parameter count, KV bytes); its name is
        replaced by the served model id.
    extra_body : dict, optional
        Server-specific request fields added to every request (vLLM's ``top_k`` or
        ``repetition_penalty``, llama-cpp-python's ``repeat_penalty``, ...).
    """

    def __init__(
        self,
        base_url: str,
        model: str | None = None,
        *,
        api_key: str | None = None,
        max_concurrency: int = 8,
        timeout_s: float = 120.0,
        connect_timeout_s: float = 5.0,
        max_retries: int = 3,
        backoff_s: float = 0.5,
        max_backoff_s: float = 8.0,
        info: ModelInfo | None = None,
        extra_body: dict[str, Any] | None = None,
    ) -> None:
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise ValueError(
                f"OpenAIEngine: base_url must start with http:// or https://, got {base_url!r}"
            )
        if model is not None and (not isinstance(model, str) or not model):
            raise ValueError(f"OpenAIEngine: model must be a non-empty str or None, got {model!r}")
        if (
            isinstance(max_concurrency, bool)
            or not isinstance(max_concurrency, int)
            or (max_concurrency < 1)
        ):
            raise ValueError(
                f"OpenAIEngine: max_concurrency must be an int >= 1, got {max_concurrency!r}"
            )
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"OpenAIEngine: max_retries must be an int >= 0, got {max_retries!r}")
        for name, value in (
            ("timeout_s", timeout_s),
            ("connect_timeout_s", connect_timeout_s),
            ("backoff_s", backoff_s),
            ("max_backoff_s", max_backoff_s),
        ):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"OpenAIEngine: {name} must be a positive number, got {value!r}")
        if info is not None and not isinstance(info, ModelInfo):
            raise TypeError(f"OpenAIEngine: info must be a ModelInfo, got {type(info).__name__}")
        if extra_body is not None and not isinstance(extra_body, dict):
            raise TypeError(
                f"OpenAIEngine: extra_body must be a dict, got {type(extra_body).__name__}"
            )
        self._extra_body = dict(extra_body or {})
        self.base_url = base_url.rstrip("/")
        self.model = model
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._max_concurrency = max_concurrency
        self._timeout = httpx.Timeout(timeout_s, connect=connect_timeout_s)
        self._max_retries = max_retries
        self._backoff_s = float(backoff_s)
        self._max_backoff_s = float(max_backoff_s)
        self._given_info = info
        self.info = info if info is not None else ModelInfo(name=model or self.base_url)
        if model is not None:
            self.info = replace(self.info, name=model)
        self._supports_n = True
        self._checked = False
        self._closed = False
        # asyncio primitives belong to one event loop; they are made again when the engine is
        # used from another one (separate asyncio.run() calls). HTTP clients live for one
        # generate() call for the same reason: connections of a finished loop cannot be closed.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._semaphore: asyncio.Semaphore | None = None
        self._check_lock: asyncio.Lock | None = None

    # -- transport -------------------------------------------------------------------------
    def _primitives(self) -> tuple[asyncio.Semaphore, asyncio.Lock]:
        if self._closed:
            raise EngineError(f"OpenAIEngine for {self.base_url} is closed")
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._semaphore is None or self._check_lock is None:
            self._loop = loop
            self._semaphore = asyncio.Semaphore(self._max_concurrency)
            self._check_lock = asyncio.Lock()
        return self._semaphore, self._check_lock

    def _client(self) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=self._max_concurrency)
        return httpx.AsyncClient(
            base_url=self.base_url, timeout=self._timeout, headers=self._headers, limits=limits
        )

    def _backoff(self, attempt: int, response: httpx.Response | None) -> float:
        wait = min(self._max_backoff_s, self._backoff_s * 2**attempt)
        if response is not None:
            try:
                wait = min(self._max_backoff_s, max(wait, float(response.headers["retry-after"])))
            except (KeyError, ValueError):
                pass
        return wait * random.uniform(0.5, 1.0)

    async def _request(
        self, client: httpx.AsyncClient, method: str, path: str, payload: dict[str, Any] | None
    ) -> Any:
        """One API call with retries; the decoded JSON body, or EngineError."""
        semaphore, _ = self._primitives()
        url = f"{self.base_url}{path}"
        failure = ""
        for attempt in range(self._max_retries + 1):
            response: httpx.Response | None = None
            try:
                async with semaphore:
                    response = await client.request(method, path, json=payload)
            except httpx.ReadTimeout as exc:
                raise EngineError(
                    f"{url}: no reply within {self._timeout.read} s (timeout_s); the server is "
                    "overloaded or the generation is too long"
                ) from exc
            except _TRANSIENT_ERRORS as exc:
                failure = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 400:
                    try:
                        return response.json()
                    except ValueError as exc:
                        raise EngineError(f"{url}: the reply is not JSON") from exc
                message = _server_message(response)
                if response.status_code not in _TRANSIENT_STATUS:
                    error = EngineError
                    # Servers state a too-long prompt only in words (vLLM: "maximum context
                    # length"; llama-cpp-python: "exceed context window").
                    if response.status_code == 400 and "context" in message.lower():
                        error = ContextLengthError
                    raise error(f"{url}: HTTP {response.status_code} from the server: {message}")
                failure = f"HTTP {response.status_code}: {message}"
            if attempt < self._max_retries:
                wait = self._backoff(attempt, response)
                logger.warning(
                    "%s failed (%s); retry %d/%d in %.2f s",
                    url,
                    failure,
                    attempt + 1,
                    self._max_retries,
                    wait,
                )
                await asyncio.sleep(wait)
        raise EngineError(
            f"{url}: server unreachable or failing after {self._max_retries + 1} attempts "
            f"(last: {failure})"
        )

    async def check(self, client: httpx.AsyncClient | None = None) -> ModelInfo:
        """Ask the server which models it serves; pick or verify the model (once).

        Raises
        ------
        uniscale.errors.EngineError
            Unreachable server, or the model is not among the served ones.
        """
        _, check_lock = self._primitives()
        async with check_lock:
            if self._checked:
                return self.info
            if client is None:
                async with self._client() as own:
                    body = await self._request(own, "GET", "/models", None)
            else:
                body = await self._request(client, "GET", "/models", None)
            cards = body.get("data", []) if isinstance(body, dict) else []
            served = {str(card.get("id")): card for card in cards if isinstance(card, dict)}
            if self.model is None:
                if len(served) != 1:
                    raise EngineError(
                        f"{self.base_url} serves {sorted(served)}; name one as "
                        "'openai:<url>#<model>'"
                    )
                self.model = next(iter(served))
            elif self.model not in served:
                raise EngineError(
                    f"unknown model {self.model!r}: {self.base_url} serves {sorted(served)}"
                )
            card = served[self.model]
            context = card.get("max_model_len")  # vLLM and SGLang state it
            base = self._given_info or ModelInfo(name=self.model)
            self.info = replace(
                base,
                name=self.model,
                context_length=int(context)
                if isinstance(context, int) and context > 0
                else base.context_length,
            )
            self._checked = True
            return self.info

    # -- generation ------------------------------------------------------------------------
    def _payload(self, prompt: Prompt, args: GenerateArgs, n: int, seed: int | None) -> dict:
        payload: dict[str, Any] = {
            **self._extra_body,
            "model": self.model,
            "n": n,
            "max_tokens": args.max_tokens,
            "temperature": args.temperature,
            "top_p": args.top_p,
        }
        if args.stop:
            payload["stop"] = list(args.stop)
        if seed is not None:
            payload["seed"] = seed
        # Log-probabilities are also asked for when n > 1: their count is each sample's
        # token count, which usage only gives summed over the samples.
        want_logprobs = args.logprobs or n > 1
        if isinstance(prompt, str):
            payload["prompt"] = prompt
            if want_logprobs:
                payload["logprobs"] = 1
        else:
            payload["messages"] = prompt
            if want_logprobs:
                # llama-cpp-python's server returns no log-probabilities without top_logprobs.
                payload["logprobs"] = True
                payload["top_logprobs"] = 1
            if args.continue_final:
                payload["continue_final_message"] = True
                payload["add_generation_prompt"] = False
        return payload

    @staticmethod
    def _parse(body: Any, chat: bool, want_logprobs: bool, url: str) -> list[Completion]:
        try:
            choices = sorted(body["choices"], key=lambda c: c.get("index", 0))
            usage = body.get("usage") or {}
            prompt_tokens = int(usage.get("prompt_tokens", 0))
            total_completion = int(usage.get("completion_tokens", 0))
            parsed = []
            for choice in choices:
                text = choice["message"]["content"] if chat else choice["text"]
                raw = choice.get("logprobs") or {}
                if chat:
                    values = [item.get("logprob") for item in raw.get("content") or []]
                else:
                    values = list(raw.get("token_logprobs") or [])
                values = [float(v) for v in values if v is not None]
                parsed.append((text or "", choice.get("finish_reason"), values))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise EngineError(f"{url}: unexpected reply shape: {exc!r}") from exc
        completions = []
        for text, finish, values in parsed:
            if len(parsed) == 1:
                tokens = total_completion
            elif values:
                tokens = len(values)
            else:
                # TODO(uniscale): a server that returns n choices without log-probabilities
                # gives only the summed token count; it is split evenly here.
                tokens = round(total_completion / len(parsed))
            completions.append(
                Completion(
                    text=text,
                    prompt_tokens=prompt_tokens,
                    completion_tokens=tokens,
                    finish_reason="length" if finish == "length" else "stop",
                    # None when the server sent none (it may not support them).
                    logprobs=tuple(values) if want_logprobs and values else None,
                )
            )
        return completions

    async def _one_prompt(
        self, client: httpx.AsyncClient, index: int, prompt: Prompt, args: GenerateArgs
    ) -> list[Completion]:
        chat = not isinstance(prompt, str)
        path = "/chat/completions" if chat else "/completions"
        seed = _derived_seed(args.seed, index, 0)
        first_n = args.n if self._supports_n else 1
        body = await self._request(client, "POST", path, self._payload(prompt, args, first_n, seed))
        samples = self._parse(body, chat, args.logprobs, f"{self.base_url}{path}")
        if len(samples) < args.n:
            if first_n > 1 and self._supports_n:
                logger.info(
                    "%s returned %d of %d samples; sending one request per sample",
                    self.base_url,
                    len(samples),
                    first_n,
                )
                self._supports_n = False
            missing = args.n - len(samples)
            extra = await asyncio.gather(
                *(
                    self._request(
                        client,
                        "POST",
                        path,
                        self._payload(prompt, args, 1, _derived_seed(args.seed, index, k + 1)),
                    )
                    for k in range(missing)
                )
            )
            for reply in extra:
                samples.extend(self._parse(reply, chat, args.logprobs, f"{self.base_url}{path}"))
        if len(samples) < args.n:
            raise EngineError(
                f"{self.base_url}{path}: asked for {args.n} samples, got {len(samples)}"
            )
        return samples[: args.n]

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

        Prompts are sent concurrently (up to ``max_concurrency`` requests); when one fails,
        the others are cancelled and the error is raised.
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
        async with self._client() as client:
            await self.check(client)
            tasks = [
                asyncio.ensure_future(self._one_prompt(client, i, prompt, args))
                for i, prompt in enumerate(args.prompts)
            ]
            try:
                return list(await asyncio.gather(*tasks))
            except BaseException:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise

    async def aclose(self) -> None:
        """Mark the engine closed (connections are closed at the end of each call)."""
        self._closed = True
