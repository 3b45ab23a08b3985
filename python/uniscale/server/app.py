"""The FastAPI application: OpenAI-compatible endpoints in front of a routing pipeline.

Endpoints: ``POST /v1/chat/completions``, ``POST /v1/completions``, ``POST /v1/feedback``,
``GET /v1/arms``, ``GET /v1/models``, ``GET /health``, ``GET /metrics``. With an API key, every
endpoint wants it except ``/health``, which then answers a liveness probe with its status alone
(the counters need the key). Every error -- a bad body,
a missing key, an unknown decision, a failing engine -- comes back as an OpenAI-style body
``{"error": {"message", "type", "param", "code"}}`` so that the ``openai`` client raises the
matching exception; nothing a request does can stop the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from uniscale.errors import EngineError, UnknownDecisionError
from uniscale.runner.pipeline import PromptTooLongError
from uniscale.server.metrics import ServerMetrics
from uniscale.server.schemas import (
    ChatCompletionRequest,
    CompletionRequest,
    FeedbackRequest,
)

if TYPE_CHECKING:
    from fastapi import FastAPI

    from uniscale.runner.pipeline import Answered, Pipeline

__all__ = ["ServeConfig", "create_app"]

logger = logging.getLogger(__name__)

DECISION_HEADER = "X-Uniscale-Decision-Id"
ARM_HEADER = "X-Uniscale-Arm"


@dataclass(frozen=True)
class ServeConfig:
    """Server settings.

    Attributes
    ----------
    api_key : str or None
        When set, every endpoint but ``/health`` wants ``Authorization: Bearer <key>`` (what the
        ``openai`` client sends) or ``X-API-Key: <key>``; ``/health`` without the key answers
        ``{"status": "ok"}`` only, for liveness probes.
    save_dir : Path or None
        Where router snapshots go: every ``snapshot_every_s`` seconds and at shutdown.
    snapshot_every_s : float
        Period of the snapshots; ``0`` saves only at shutdown.
    default_max_tokens : int
        Token budget per generation when a request names none.
    """

    api_key: str | None = None
    save_dir: Path | None = None
    snapshot_every_s: float = 300.0
    default_max_tokens: int = 256

    def __post_init__(self) -> None:
        if self.api_key is not None and not self.api_key:
            raise ValueError("ServeConfig: api_key must be a non-empty string or None, got ''")
        if not self.snapshot_every_s >= 0:
            raise ValueError(
                f"ServeConfig: snapshot_every_s must be >= 0, got {self.snapshot_every_s!r}"
            )
        if self.default_max_tokens < 1:
            raise ValueError(
                f"ServeConfig: default_max_tokens must be >= 1, got {self.default_max_tokens!r}"
            )


_ENDPOINTS = frozenset(
    {
        "/v1/chat/completions",
        "/v1/completions",
        "/v1/feedback",
        "/v1/arms",
        "/v1/models",
        "/health",
        "/metrics",
    }
)


def _error_body(message: str, kind: str, *, param: str | None = None, code: str | None = None):
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


_STATUS_KIND = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    500: "server_error",
    502: "engine_error",
    503: "server_error",
}


def _validation_message(exc: Any) -> tuple[str, str | None]:
    """One readable sentence from a pydantic/FastAPI validation error list."""
    parts = []
    param = None
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            why = err.get("ctx", {}).get("error", "parse error")
            return f"request body is not valid JSON ({why})", "body"
        loc = [str(x) for x in err.get("loc", ()) if x not in ("body",)]
        where = ".".join(loc) if loc else "body"
        param = param or where
        msg = str(err.get("msg", "invalid value"))
        msg = msg.removeprefix("Value error, ")
        parts.append(f"{where}: {msg}")
    return "; ".join(parts) or "invalid request body", param


def create_app(pipeline: Pipeline, config: ServeConfig | None = None) -> FastAPI:
    """Build the app around ``pipeline``.

    The app owns the pipeline's lifetime: at shutdown it saves a last snapshot (when
    ``config.save_dir`` is set) and closes the engines.

    Parameters
    ----------
    pipeline : uniscale.runner.pipeline.Pipeline
        Router, engines and strategies.
    config : ServeConfig, optional
    """
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, Response
    from starlette.exceptions import HTTPException as StarletteHTTPException

    cfg = config or ServeConfig()
    metrics = ServerMetrics()

    def snapshot(reason: str) -> None:
        if cfg.save_dir is None:
            return
        try:
            pipeline.save(cfg.save_dir)
            logger.info("router snapshot (%s) saved to %s", reason, cfg.save_dir)
        except Exception:  # a failed snapshot must not take the server down
            logger.exception("router snapshot (%s) to %s failed", reason, cfg.save_dir)

    async def snapshot_loop() -> None:
        while True:
            await asyncio.sleep(cfg.snapshot_every_s)
            snapshot("periodic")

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        task = None
        if cfg.save_dir is not None and cfg.snapshot_every_s > 0:
            task = asyncio.create_task(snapshot_loop())
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            snapshot("shutdown")
            await pipeline.aclose()

    app = FastAPI(title="uniscale router", version=_version(), lifespan=lifespan)
    app.state.pipeline = pipeline
    app.state.metrics = metrics
    app.state.config = cfg

    def error(status: int, message: str, *, param: str | None = None, code: str | None = None):
        kind = _STATUS_KIND.get(status, "invalid_request_error" if status < 500 else "server_error")
        return JSONResponse(_error_body(message, kind, param=param, code=code), status_code=status)

    @app.exception_handler(RequestValidationError)
    async def _on_validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        message, param = _validation_message(exc)
        return error(400, message, param=param, code="invalid_request")

    @app.exception_handler(StarletteHTTPException)
    async def _on_http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error(exc.status_code, str(exc.detail))

    @app.middleware("http")
    async def _guard(request: Request, call_next: Any) -> Response:
        # Only known paths become label values: a scanner probing random URLs must not grow
        # the metric's label set without bound.
        endpoint = request.url.path if request.url.path in _ENDPOINTS else "other"
        start = time.perf_counter()
        authorized = cfg.api_key is None or _authorized(request, cfg.api_key)
        if not authorized and request.url.path == "/health" and request.method == "GET":
            # Liveness probes carry no key: they get the status and nothing else.
            response: Response = JSONResponse({"status": "ok"})
        elif not authorized:
            response = error(
                401,
                "missing or wrong API key: send 'Authorization: Bearer <key>'",
                code="invalid_api_key",
            )
        else:
            try:
                response = await call_next(request)
            except Exception:  # last line of defence: report, never crash the worker
                logger.exception("unhandled error on %s", endpoint)
                response = error(500, f"internal error while serving {endpoint}; see server log")
        metrics.requests.labels(endpoint, str(response.status_code)).inc()
        metrics.request_latency.labels(endpoint).observe(time.perf_counter() - start)
        return response

    async def route(question: str, body: Any, param: str) -> Answered | JSONResponse:
        models = None
        if not body.routed:
            known = pipeline.model_names()
            if body.model not in known:
                return error(
                    400,
                    f"model: expected 'uniscale' (route among every arm) or one of {known}, "
                    f"got {body.model!r}",
                    param="model",
                    code="model_not_found",
                )
            models = (body.model,)
        try:
            answered = await pipeline.answer(
                question,
                answer_kind=body.uniscale.answer_kind,
                max_tokens=body.token_limit or cfg.default_max_tokens,
                seed=body.seed,
                models=models,
            )
        except PromptTooLongError as exc:
            # The client's prompt, not the engine, is at fault: 400, no engine-error count.
            return error(400, f"{param}: {exc}", param=param, code="context_length_exceeded")
        except EngineError as exc:
            for model in getattr(exc, "failed_models", ()) or ():
                metrics.engine_errors.labels(model).inc()
            return error(502, f"engine failure: {exc}", code="engine_error")
        except ValueError as exc:
            # The request was validated above: a ValueError now comes from inside a strategy or
            # the cost model, which is the server's fault, not the client's.
            logger.exception("routing failed after validation")
            return error(500, f"internal error while answering: {exc}", code="internal_error")
        for model in answered.failed_models:
            metrics.engine_errors.labels(model).inc()
        label = answered.arm_label
        metrics.decisions.labels(label).inc()
        metrics.arm_latency.labels(label).observe(answered.latency_s)
        cost = answered.result.cost
        metrics.cost_tokens.labels(label).inc(cost.total_tokens)
        if cost.eflops is not None:
            metrics.cost_eflops.labels(label).inc(cost.eflops)
        if cost.dollars is not None:
            metrics.cost_dollars.labels(label).inc(cost.dollars)
        metrics.pending_feedback.set(pipeline.pending_count())
        return answered

    def headers(answered: Answered) -> dict[str, str]:
        return {DECISION_HEADER: answered.decision_id, ARM_HEADER: answered.arm_label}

    @app.post("/v1/chat/completions")
    async def chat_completions(body: ChatCompletionRequest) -> Response:
        try:
            question = body.question()
        except ValueError as exc:
            return error(400, str(exc), param="messages", code="invalid_request")
        answered = await route(question, body, "messages")
        if isinstance(answered, Response):
            return answered
        payload = {
            "id": f"chatcmpl-{answered.decision_id}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": answered.arm_label,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": answered.text},
                    "finish_reason": answered.finish_reason,
                    "logprobs": None,
                }
            ],
            "usage": _usage(answered),
            "uniscale": answered.summary(),
        }
        return JSONResponse(payload, headers=headers(answered))

    @app.post("/v1/completions")
    async def completions(body: CompletionRequest) -> Response:
        try:
            question = body.question()
        except ValueError as exc:
            return error(400, str(exc), param="prompt", code="invalid_request")
        answered = await route(question, body, "prompt")
        if isinstance(answered, Response):
            return answered
        payload = {
            "id": f"cmpl-{answered.decision_id}",
            "object": "text_completion",
            "created": int(time.time()),
            "model": answered.arm_label,
            "choices": [
                {
                    "index": 0,
                    "text": answered.text,
                    "finish_reason": answered.finish_reason,
                    "logprobs": None,
                }
            ],
            "usage": _usage(answered),
            "uniscale": answered.summary(),
        }
        return JSONResponse(payload, headers=headers(answered))

    @app.post("/v1/feedback")
    async def feedback(body: FeedbackRequest) -> Response:
        if body.correct is None and body.verifier is None:
            # Closing with cost alone would teach the router a reward the client never gave.
            return error(
                400,
                "feedback: expected an outcome in 'correct' (true/false) or 'verifier' (a score "
                "in [0, 1]), got neither",
                param="correct",
                code="invalid_request",
            )
        try:
            label, reward = pipeline.feedback(
                body.decision_id, correct=body.correct, verifier=body.verifier
            )
        except UnknownDecisionError as exc:
            return error(404, str(exc), param="decision_id", code="unknown_decision")
        except ValueError as exc:
            return error(400, str(exc), code="invalid_request")
        metrics.feedback.labels(label).inc()
        if reward is not None:
            metrics.reward.labels(label).observe(reward)
        metrics.pending_feedback.set(pipeline.pending_count())
        return JSONResponse({"decision_id": body.decision_id, "arm": label, "reward": reward})

    @app.get("/v1/arms")
    async def arms() -> Response:
        return JSONResponse({"object": "list", "data": pipeline.arms()})

    @app.get("/v1/models")
    async def models() -> Response:
        names = ["uniscale", *pipeline.model_names()]
        data = [{"id": n, "object": "model", "created": 0, "owned_by": "uniscale"} for n in names]
        return JSONResponse({"object": "list", "data": data})

    @app.get("/health")
    async def health() -> Response:
        return JSONResponse(
            {
                "status": "ok",
                "arms": len(pipeline.arms()),
                "decisions": pipeline.decisions_made(),
                "pending_feedback": pipeline.pending_count(),
            }
        )

    @app.get("/metrics")
    async def metrics_endpoint() -> Response:
        metrics.pending_feedback.set(pipeline.pending_count())
        data, content_type = metrics.render()
        return Response(content=data, media_type=content_type)

    return app


def _authorized(request: Any, key: str) -> bool:
    supplied = request.headers.get("x-api-key")
    auth = request.headers.get("authorization", "")
    if supplied is None and auth.lower().startswith("bearer "):
        supplied = auth[7:].strip()
    if not supplied:
        return False
    return hmac.compare_digest(supplied.encode("utf-8"), key.encode("utf-8"))


def _usage(answered: Answered) -> dict[str, int]:
    cost = answered.result.cost
    return {
        "prompt_tokens": int(cost.prompt_tokens),
        "completion_tokens": int(cost.completion_tokens),
        "total_tokens": int(cost.prompt_tokens + cost.completion_tokens),
    }


def _version() -> str:
    from uniscale import __version__

    return __version__
