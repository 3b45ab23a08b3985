"""One routed answer: decide an arm, run its strategy on its engine, remember it for feedback.

The :class:`Pipeline` is shared by ``uniscale run`` and ``uniscale serve``: it owns the router,
opens each model's engine on first use, builds strategies from arms, falls back to another model's
arms when an engine fails (when asked to), tells the router the cost of each answer at once, and
keeps every open decision so that feedback can arrive later with only its id and the outcome.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from uniscale.errors import ContextLengthError, EngineError, UnknownDecisionError

__all__ = [
    "COST_UNITS",
    "Answered",
    "Pipeline",
    "PromptTooLongError",
    "arm_label",
    "cost_value",
    "default_arms_path",
    "verifier_signal",
]

logger = logging.getLogger(__name__)


def default_arms_path(preset: str = "default") -> Path:
    """Path of an arm-space config shipped in :mod:`uniscale.configs`."""
    from importlib import resources

    name = f"{preset}.yaml"
    path = Path(str(resources.files("uniscale.configs").joinpath(name)))
    if not path.is_file():
        raise ValueError(f"default_arms_path: no shipped arm-space config named {name!r}")
    return path


def arm_label(arm: Any) -> str:
    """The name an arm goes by in logs, metrics and responses: its stable id
    (``model/strategy/k=v,...``)."""
    return str(arm.id)


@dataclass(frozen=True)
class Answered:
    """A routed answer.

    Attributes
    ----------
    decision : Decision
        The router's decision that was finally served (after any fallback).
    arm_label : str
        The chosen arm's id.
    result : StrategyResult
        The strategy's result: answer, candidates, cost.
    text : str
        The generated text to return to a client: the candidate the strategy chose.
    finish_reason : str
        ``"length"`` when the returned candidate was cut at ``max_tokens`` (or the context ran
        out), else ``"stop"``; read from the engine's completions (see :class:`_Recorder`).
    latency_s : float
        Wall seconds from the first decision to the answer, fallbacks included.
    verifier : float or None
        The verifier's score of the answer in [0, 1] (arms with a verifier), told to the router.
    failed_models : tuple of str
        Models whose engines failed for this request before the answer was found.
    """

    decision: Any
    arm_label: str
    result: Any
    text: str
    finish_reason: str
    latency_s: float
    verifier: float | None = None
    failed_models: tuple[str, ...] = ()

    @property
    def decision_id(self) -> str:
        return str(self.decision.id)

    def summary(self) -> dict[str, Any]:
        """JSON-friendly description for a response body or a log line."""
        arm = self.decision.arm
        cost = self.result.cost
        return {
            "decision_id": self.decision_id,
            "arm": self.arm_label,
            "arm_index": int(self.decision.arm_index),
            "model": arm.model,
            "strategy": arm.strategy,
            "params": dict(getattr(arm, "params", {}) or {}),
            "propensity": _float_or_none(getattr(self.decision, "propensity", None)),
            "answer": self.result.answer,
            "agreement": _float_or_none(getattr(self.result, "agreement", None)),
            "verifier": self.verifier,
            "cost": cost.as_dict(),
            "latency_s": self.latency_s,
            "fallback_from": list(self.failed_models),
        }


def _float_or_none(value: Any) -> float | None:
    if value is None:
        return None
    out = float(value)
    return out if np.isfinite(out) else None


class PromptTooLongError(ValueError):
    """The question does not fit the context of the chosen model's engine: the client's fault,
    not an engine failure (no fallback, no engine-error count)."""


class _Recorder:
    """Stands in for an engine during one strategy run and remembers the finish reason of every
    completion it returned, so that the pipeline can tell whether the returned text was cut.

    StrategyResult keeps only candidate texts; the engines' Completion objects carry the
    finish reason.
    """

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self.finish: dict[str, str] = {}

    @property
    def info(self) -> Any:
        return self._engine.info

    async def generate(self, prompts: Any, **kwargs: Any) -> Any:
        out = await self._engine.generate(prompts, **kwargs)
        for row in out:
            for completion in row:
                text = completion.text
                # One text met twice: a cut wins, so that a truncated answer is never hidden.
                if self.finish.get(text) != "length":
                    self.finish[text] = completion.finish_reason
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    def finish_reason(self, text: str) -> str:
        """``"length"`` when ``text`` is, or ends with, a completion that was cut."""
        if text in self.finish:
            return self.finish[text]
        # Multi-step strategies (beam search) join step completions: the last step decides.
        best = ""
        for piece in self.finish:
            if piece and len(piece) > len(best) and text.endswith(piece):
                best = piece
        return self.finish[best] if best else "stop"


COST_UNITS = ("eflops", "tokens", "dollars", "seconds")


def cost_value(cost: Any, unit: str) -> float:
    """The one number the router learns from: ``cost`` (a :class:`uniscale.cost.Cost`) in ``unit``.

    eFLOPs and dollars fall back to 0 when the cost model could not compute them (a model without
    a spec); the config's model entries always give one.
    """
    if unit == "eflops":
        return float(cost.eflops or 0.0)
    if unit == "tokens":
        return float(cost.total_tokens)
    if unit == "dollars":
        return float(cost.dollars or 0.0)
    if unit == "seconds":
        return float(cost.wall_s)
    raise ValueError(f"cost_value: unit must be one of {COST_UNITS}, got {unit!r}")


def verifier_signal(result: Any) -> float | None:
    """The verifier's score of the returned answer, in [0, 1], or None without a verifier.

    The score of the chosen candidate when there is one, else the best finite score; NaN scores
    are ignored.
    """
    scores = getattr(result, "verifier_scores", None)
    if scores is None:
        return None
    arr = np.asarray(scores, dtype=np.float64).reshape(-1)
    chosen = getattr(result, "chosen", None)
    if chosen is not None and 0 <= int(chosen) < arr.size and np.isfinite(arr[int(chosen)]):
        return float(np.clip(arr[int(chosen)], 0.0, 1.0))
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return None
    return float(np.clip(arr.max(), 0.0, 1.0))


@dataclass
class Pipeline:
    """Router + engines + strategies.

    Parameters
    ----------
    router : uniscale.router.Router
        Decides arms and learns from feedback. Each model of its arm space names its engine
        (``engine:`` in the config: a spec for :func:`uniscale.engines.get_engine`).
    fallback : int
        How many other models to try when an engine fails; ``0`` reports the failure.
    default_max_tokens : int
        Generation budget when the caller passes none.
    cost_unit : {"eflops", "tokens", "dollars", "seconds"}
        The cost the router is told about (one unit for the router's whole life).
    engines : mapping of str to Engine, optional
        Engines already opened, by model name; used instead of opening the model's ``engine``
        spec. The caller owns them: :meth:`aclose` closes only the engines the pipeline opened.

    Notes
    -----
    The cost (and the verifier's score, when the arm has a verifier) go to the router as soon as
    the answer is known, so budget mode tracks spending without waiting for feedback; the
    correctness comes with :meth:`feedback`, which closes the decision.
    """

    router: Any
    fallback: int = 0
    default_max_tokens: int = 256
    cost_unit: str = "eflops"
    engines: Mapping[str, Any] | None = None
    _engines: dict[str, Any] = field(default_factory=dict, init=False, repr=False)
    _opening: dict[str, asyncio.Lock] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if (
            isinstance(self.fallback, bool)
            or not isinstance(self.fallback, int)
            or self.fallback < 0
        ):
            raise ValueError(f"Pipeline: fallback must be an integer >= 0, got {self.fallback!r}")
        if (
            isinstance(self.default_max_tokens, bool)
            or not isinstance(self.default_max_tokens, int)
            or self.default_max_tokens < 1
        ):
            raise ValueError(
                f"Pipeline: default_max_tokens must be an integer >= 1, got "
                f"{self.default_max_tokens!r}"
            )
        if self.cost_unit not in COST_UNITS:
            raise ValueError(
                f"Pipeline: cost_unit must be one of {COST_UNITS}, got {self.cost_unit!r}"
            )
        given = set(self.engines or ())
        missing = [
            m for m in self.model_names() if not self._model_entry(m).engine and m not in given
        ]
        if missing:
            raise ValueError(
                f"Pipeline: models {missing} have no engine spec; give each model an 'engine:' "
                f'in the arm-space config (e.g. "llama:smollm2-135m" or '
                f'"openai:http://127.0.0.1:8000/v1#<model>")'
            )

    @property
    def ttl_s(self) -> float:
        return float(self.router.store.ttl_s)

    # -- arms and engines -------------------------------------------------------------------
    def _arms(self) -> list[Any]:
        return list(self.router.arm_space.arms)

    def _model_entry(self, model: str) -> Any:
        return self.router.arm_space.models[model]

    def model_names(self) -> list[str]:
        """Models used by at least one arm, in first-use order."""
        return list(dict.fromkeys(a.model for a in self._arms()))

    def arms(self) -> list[dict[str, Any]]:
        """Every arm, JSON-friendly, with its index."""
        return [
            {
                "index": i,
                "id": arm_label(a),
                "model": a.model,
                "strategy": a.strategy,
                "kind": a.kind,
                "params": dict(a.params),
                "engine": self._model_entry(a.model).engine,
            }
            for i, a in enumerate(self._arms())
        ]

    async def engine(self, model: str) -> Any:
        """The engine of ``model``, opened on first use.

        Opening may load a model file for seconds; it runs in a worker thread so that a server
        keeps answering other requests, and once per model even when requests race for it.
        """
        if self.engines is not None and model in self.engines:
            return self.engines[model]
        engine = self._engines.get(model)
        if engine is not None:
            return engine
        lock = self._opening.setdefault(model, asyncio.Lock())
        async with lock:
            engine = self._engines.get(model)
            if engine is None:
                from uniscale.engines import get_engine

                spec = self._model_entry(model).engine
                engine = await asyncio.to_thread(get_engine, spec)
                self._engines[model] = engine
                logger.info("engine of %s opened (%s)", model, spec)
        return engine

    def _specs(self, model: str, engine: Any) -> dict[str, Any]:
        """Cost-model spec of ``model`` under the name the engine reports (cost records use it).

        The config's entry wins; shape facts it leaves out (layers, hidden size, KV bytes, GQA)
        come from what the engine read from the model (GGUF metadata or the server).
        """
        from uniscale.cost import ModelSpec

        m = self._model_entry(model)
        info = engine.info
        name = str(getattr(info, "name", "") or model)

        def pick(key: str) -> Any:
            value = getattr(m, key, None)
            return value if value is not None else getattr(info, key, None)

        gqa = m.gqa_ratio if m.gqa_ratio not in (None, 1.0) else getattr(info, "gqa_ratio", None)
        spec = ModelSpec(
            name=name,
            params=float(m.params),
            n_layers=pick("n_layers"),
            hidden_size=pick("hidden_size"),
            gqa_ratio=float(gqa) if gqa else 1.0,
            kv_bytes_per_token=pick("kv_bytes_per_token"),
            price_in_per_1k=float(m.price_in_per_1k),
            price_out_per_1k=float(m.price_out_per_1k),
        )
        return {name: spec}

    def _mask(self, allowed_models: set[str] | None, failed: set[str]) -> np.ndarray | None:
        if allowed_models is None and not failed:
            return None
        return np.array(
            [
                (allowed_models is None or a.model in allowed_models) and a.model not in failed
                for a in self._arms()
            ],
            dtype=bool,
        )

    # -- answering --------------------------------------------------------------------------
    async def answer(
        self,
        question: str,
        *,
        answer_kind: str = "math",
        max_tokens: int | None = None,
        seed: int | None = None,
        models: Sequence[str] | None = None,
    ) -> Answered:
        """Route ``question`` and answer it.

        Parameters
        ----------
        question : str
        answer_kind : str
            Passed to the strategy for answer extraction and voting.
        max_tokens : int, optional
            Generation budget per sample/step; the pipeline default when None.
        seed : int, optional
            Sampling seed for the strategy.
        models : sequence of str, optional
            Restrict the choice to arms of these models.

        Raises
        ------
        ValueError
            For an empty question or an unknown model.
        EngineError
            When the chosen engine failed and no fallback was left; ``failed_models`` lists the
            models tried.
        """
        if not isinstance(question, str) or not question.strip():
            raise ValueError(
                f"Pipeline.answer: question must be a non-empty string, got {question!r}"
            )
        allowed = None
        if models is not None:
            allowed = set(models)
            unknown = sorted(allowed - set(self.model_names()))
            if unknown:
                raise ValueError(
                    f"Pipeline.answer: unknown models {unknown}; known {self.model_names()}"
                )
        tokens = self.default_max_tokens if max_tokens is None else int(max_tokens)
        failed: list[str] = []
        start = time.perf_counter()
        while True:
            decision = self.router.decide(question, mask=self._mask(allowed, set(failed)))
            arm = decision.arm
            engine = None
            try:
                strategy = _strategy(arm)
                engine = await self.engine(arm.model)
                recorder = _Recorder(engine)
                result = await strategy.run(
                    question,
                    recorder,
                    answer_kind=answer_kind,
                    max_tokens=tokens,
                    seed=seed,
                    specs=self._specs(arm.model, engine),
                )
            except ContextLengthError as exc:
                self._abandon(decision)
                raise PromptTooLongError(
                    f"Pipeline.answer: question does not fit the context of {arm.model!r} "
                    f"({engine.info.context_length} tokens with the strategy's prompt): {exc}"
                ) from exc
            except EngineError as exc:
                self._abandon(decision)
                failed.append(arm.model)
                left = self._mask(allowed, set(failed))
                logger.warning(
                    "engine of %s failed (%s); %s",
                    arm.model,
                    exc,
                    "falling back" if len(failed) <= self.fallback and left.any() else "giving up",
                )
                if len(failed) > self.fallback or not left.any():
                    err = EngineError(f"model {arm.model!r} failed: {exc}")
                    err.failed_models = tuple(failed)  # type: ignore[attr-defined]
                    raise err from exc
                continue
            except BaseException:
                # A bug, a cancelled request or Ctrl-C: close the decision without a reward so
                # that it neither teaches the router nor lingers as pending in a saved state.
                self._abandon(decision)
                raise
            break
        label = arm_label(arm)
        verifier = verifier_signal(result)
        self.router.feedback(
            decision.id, cost=cost_value(result.cost, self.cost_unit), verifier=verifier
        )
        text = _answer_text(result)
        return Answered(
            decision=decision,
            arm_label=label,
            result=result,
            text=text,
            finish_reason=recorder.finish_reason(text),
            latency_s=time.perf_counter() - start,
            verifier=verifier,
            failed_models=tuple(failed),
        )

    def _abandon(self, decision: Any) -> None:
        # An outage says nothing about the arm's quality: close the decision with no outcome
        # part, which updates nothing.
        self.router.feedback(decision.id, final=True)

    # -- feedback ---------------------------------------------------------------------------
    def feedback(
        self, decision_id: str, *, correct: bool | None = None, verifier: float | None = None
    ) -> tuple[str, float | None]:
        """Report the outcome of an answered decision.

        Returns
        -------
        (arm label, reward)
            ``reward`` is None when the router has too little to compute one.

        Raises
        ------
        UnknownDecisionError
            When the id is unknown, already closed or expired.
        """
        # The router's store is the one record of open decisions: it is saved with the router,
        # so decisions answered before a restart still take their feedback afterwards.
        try:
            pending = self.router.store.get(decision_id, self.router.clock(), "feedback")
        except UnknownDecisionError:
            pending = None
        if pending is None or "cost" not in pending.parts:
            # Closed already, or decided but not answered yet (its cost is not known).
            raise UnknownDecisionError(
                f"feedback: decision {decision_id!r} is unknown, already closed or expired"
            )
        label = str(pending.arm_id)
        reward = self.router.feedback(decision_id, correct=correct, verifier=verifier, final=True)
        return label, (None if reward is None else float(reward))

    def pending_count(self) -> int:
        """Answered decisions still waiting for feedback (restored ones included)."""
        now = self.router.clock()
        ttl = self.ttl_s
        return sum(
            1
            for p in list(self.router.store.pending.values())
            if "cost" in p.parts and now - p.created < ttl
        )

    def decisions_made(self) -> int:
        """Routing decisions the router made over its life (a saved state's included; each
        model tried in a fallback counts)."""
        return int(self.router.policy.n_selected)

    # -- state ------------------------------------------------------------------------------
    def save(self, directory: str | Path) -> None:
        """Snapshot the router to ``directory``."""
        Path(directory).mkdir(parents=True, exist_ok=True)
        self.router.save(directory)

    async def aclose(self) -> None:
        """Close every engine the pipeline opened (not those passed in ``engines``)."""
        engines, self._engines = self._engines, {}
        for model, engine in engines.items():
            try:
                await engine.aclose()
            except Exception:
                logger.warning("closing the engine of %s failed", model, exc_info=True)


def _answer_text(result: Any) -> str:
    """The text of the candidate the strategy chose, else the first candidate, else ''."""
    candidates = list(getattr(result, "candidates", []) or [])
    chosen = getattr(result, "chosen", None)
    if chosen is not None and 0 <= int(chosen) < len(candidates):
        return candidates[int(chosen)]
    return candidates[0] if candidates else ""


def _strategy(arm: Any) -> Any:
    from uniscale.strategies import make_strategy

    return make_strategy(arm.kind, **arm.params)
