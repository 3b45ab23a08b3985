"""A process reward model (PRM) served by vLLM, as a verifier.

Two transports:

- HTTP: the ``/pooling`` endpoint of ``vllm serve <prm> --runner pooling`` (httpx, async). One
  request per solution, sent concurrently; the conversation goes in ``messages`` and the server
  applies the PRM's chat template.
- in-process: ``vllm.LLM(model, runner="pooling")`` and its ``reward`` (or ``encode``) method,
  imported only when used, run in a worker thread.

The input follows the Qwen2.5-Math-PRM convention: a system prompt, the question as the user turn,
and the solution's steps as the assistant turn, each step followed by a step tag (``<extra_0>``).
With the model's STEP pooling the server returns one row per step tag, a probability pair
``[p(bad), p(good)]`` (or a single value); the step score is the ``positive_index`` entry.

NOTE: this verifier was NOT run against a real PRM here (no GPU and no PRM weights on the machine
where it was written). Its request building and response handling are tested against a local
FastAPI app that returns the documented pooling response shape.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from uniscale.cost import CostCounts, ModelSpec
from uniscale.errors import EngineError
from uniscale.strategies.verifiers.base import Solution, StepScores, Verifier

logger = logging.getLogger(__name__)

__all__ = ["VLLMRewardVerifier"]

_DEFAULT_SYSTEM = "Please reason step by step, and put your final answer within \\boxed{}."


class VLLMRewardVerifier(Verifier):
    """Step scores from a PRM served by vLLM (HTTP ``/pooling`` or in-process).

    Parameters
    ----------
    model : str
        The served model name (HTTP) or the model directory / hub id loaded in-process.
    base_url : str or None
        Root of a ``vllm serve`` server, e.g. ``"http://127.0.0.1:8000"``; None loads the model
        in this process with ``vllm.LLM``.
    params : float or None
        Parameter count P_v of the PRM, for the eFLOPs of verification (none when None).
    price_in_per_1k : float
        Dollars per 1000 tokens scored.
    step_tag : str
        Text placed after every step (the PRM's step token).
    system_prompt : str or None
    positive_index : int
        Which entry of a per-step probability row is "this step is good".
    delimiter : str
        Step delimiter for solutions given as one text.
    timeout_s : float
        HTTP timeout per request.
    client : httpx.AsyncClient or None
        An existing client (its base URL is ignored; ``base_url`` is used); created when None.
    llm_kwargs : dict or None
        Extra keyword arguments for ``vllm.LLM`` (in-process only).
    """

    name = "vllm_prm"
    max_score = 1.0

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        params: float | None = None,
        price_in_per_1k: float = 0.0,
        step_tag: str = "<extra_0>",
        system_prompt: str | None = _DEFAULT_SYSTEM,
        positive_index: int = 1,
        delimiter: str = "\n\n",
        timeout_s: float = 60.0,
        client: Any | None = None,
        llm_kwargs: dict[str, Any] | None = None,
    ) -> None:
        op = "VLLMRewardVerifier"
        if not isinstance(model, str) or not model:
            raise ValueError(f"{op}: model must be a non-empty str, got {model!r}")
        if base_url is not None and not (
            isinstance(base_url, str) and base_url.startswith(("http://", "https://"))
        ):
            raise ValueError(f"{op}: base_url must be an http(s) URL or None, got {base_url!r}")
        if not isinstance(step_tag, str) or not step_tag:
            raise ValueError(f"{op}: step_tag must be a non-empty str, got {step_tag!r}")
        if isinstance(positive_index, bool) or not isinstance(positive_index, int):
            raise TypeError(f"{op}: positive_index must be an int, got {positive_index!r}")
        if not isinstance(delimiter, str) or not delimiter:
            raise ValueError(f"{op}: delimiter must be a non-empty str, got {delimiter!r}")
        if not timeout_s > 0:
            raise ValueError(f"{op}: timeout_s must be > 0, got {timeout_s!r}")
        self.model = model
        self.base_url = base_url.rstrip("/") if base_url else None
        self.spec = (
            ModelSpec(model, params=float(params), price_in_per_1k=price_in_per_1k)
            if params is not None
            else None
        )
        self.step_tag = step_tag
        self.system_prompt = system_prompt
        self.positive_index = positive_index
        self.delimiter = delimiter
        self.timeout_s = float(timeout_s)
        self._client = client
        self._owns_client = client is None
        self._llm_kwargs = dict(llm_kwargs or {})
        self._llm: Any | None = None

    # -- request building -------------------------------------------------------------------

    def messages(self, question: str, steps: Sequence[str]) -> list[dict[str, str]]:
        """The conversation the PRM scores: every step followed by the step tag."""
        assistant = "".join(f"{step}{self.step_tag}" for step in steps)
        out = []
        if self.system_prompt:
            out.append({"role": "system", "content": self.system_prompt})
        out.append({"role": "user", "content": question})
        out.append({"role": "assistant", "content": assistant})
        return out

    def _step_scores(self, op: str, data: Any, n_steps: int) -> list[float]:
        arr = np.asarray(data, dtype=np.float64)
        if arr.ndim == 2:
            if not 0 <= self.positive_index < arr.shape[1] and not (
                -arr.shape[1] <= self.positive_index < 0
            ):
                raise EngineError(
                    f"{op}: positive_index {self.positive_index} out of range for rows of "
                    f"{arr.shape[1]} values"
                )
            arr = arr[:, self.positive_index]
        elif arr.ndim != 1:
            raise EngineError(f"{op}: expected per-step scores (1-D or 2-D), got shape {arr.shape}")
        if arr.shape[0] != n_steps:
            raise EngineError(
                f"{op}: the PRM returned {arr.shape[0]} step scores for {n_steps} steps; serve it "
                "with STEP pooling on the step tag (the Qwen2.5-Math-PRM default)"
            )
        if not np.all(np.isfinite(arr)):
            raise EngineError(f"{op}: the PRM returned non-finite step scores")
        return arr.tolist()

    # -- scoring ----------------------------------------------------------------------------

    async def score(
        self,
        question: str,
        solutions: Sequence[Solution],
        *,
        logprobs: Sequence[Sequence[Sequence[float]]] | None = None,
    ) -> StepScores:
        op = "VLLMRewardVerifier.score"
        if not isinstance(question, str):
            raise TypeError(f"{op}: question must be a str, got {type(question).__name__}")
        steps = self._steps(op, solutions)
        del logprobs  # a PRM judges the text, not the policy's confidence
        scored = [i for i, s in enumerate(steps) if s]
        if self.base_url is not None:
            results = await self._score_http(op, question, [steps[i] for i in scored])
        else:
            results = await asyncio.to_thread(
                self._score_local, op, question, [steps[i] for i in scored]
            )
        per_solution: list[list[float]] = [[] for _ in steps]
        tokens = 0
        for i, (scores, n_tokens) in zip(scored, results, strict=True):
            per_solution[i] = scores
            tokens += n_tokens
        counts = CostCounts()
        if scored:
            counts.record_verification(self.model, tokens)
        return StepScores.from_lists(per_solution, counts)

    async def _score_http(
        self, op: str, question: str, steps: list[list[str]]
    ) -> list[tuple[list[float], int]]:
        import httpx

        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout_s)
        url = f"{self.base_url}/pooling"

        async def one(sol_steps: list[str]) -> tuple[list[float], int]:
            body = {"model": self.model, "messages": self.messages(question, sol_steps)}
            try:
                resp = await self._client.post(url, json=body, timeout=self.timeout_s)
            except httpx.HTTPError as exc:
                raise EngineError(f"{op}: request to {url} failed: {exc!r}") from exc
            if resp.status_code != 200:
                raise EngineError(
                    f"{op}: {url} answered HTTP {resp.status_code}: {resp.text[:200]!r}"
                )
            try:
                payload = resp.json()
                data = payload["data"][0]["data"]
                usage = payload.get("usage") or {}
            except (ValueError, KeyError, IndexError, TypeError) as exc:
                raise EngineError(
                    f"{op}: {url} sent a reply that is not a pooling response: {exc!r}"
                ) from exc
            n_tokens = int(usage.get("prompt_tokens", 0) or 0)
            return self._step_scores(op, data, len(sol_steps)), n_tokens

        return list(await asyncio.gather(*(one(s) for s in steps)))

    def _score_local(
        self, op: str, question: str, steps: list[list[str]]
    ) -> list[tuple[list[float], int]]:
        if not steps:
            return []
        if self._llm is None:
            try:
                import vllm
            except ImportError as exc:
                raise EngineError(
                    f"{op}: vllm is not installed; install it or serve the PRM and pass base_url"
                ) from exc
            self._llm = vllm.LLM(model=self.model, runner="pooling", **self._llm_kwargs)
        tokenizer = self._llm.get_tokenizer()
        prompts = [
            tokenizer.apply_chat_template(self.messages(question, s), tokenize=False) for s in steps
        ]
        run = getattr(self._llm, "reward", None) or self._llm.encode
        outputs = run(prompts)
        results = []
        for sol_steps, out in zip(steps, outputs, strict=True):
            data = out.outputs.data
            data = data.tolist() if hasattr(data, "tolist") else data
            results.append((self._step_scores(op, data, len(sol_steps)), len(out.prompt_token_ids)))
        return results

    async def aclose(self) -> None:
        if self._client is not None and self._owns_client:
            await self._client.aclose()
            self._client = None
