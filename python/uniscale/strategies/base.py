"""The strategy interface, and what every strategy shares: validated parameters, one place that
calls the engine and records the work, and the cost summary."""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from uniscale.cost import Cost, CostCounts, ModelSpec

logger = logging.getLogger(__name__)

__all__ = ["Strategy", "Tracker", "check_int", "check_float"]


def check_int(op: str, name: str, value: Any, *, minimum: int = 1) -> None:
    """TypeError unless ``value`` is an int (not bool); ValueError when below ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{op}: {name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {value}")


def check_float(op: str, name: str, value: Any, *, lo: float, hi: float = math.inf) -> None:
    """TypeError unless ``value`` is a real number; ValueError unless lo <= value <= hi."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{op}: {name} must be a number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value) or not lo <= value <= hi:
        raise ValueError(f"{op}: {name} must be in [{lo}, {hi}], got {value!r}")


class Tracker:
    """Calls an engine's ``generate`` and records each call's work in a :class:`CostCounts`."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.model = engine.info.name
        self.counts = CostCounts()
        self.start = time.perf_counter()

    async def generate(self, prompts: Sequence[Any], **kwargs: Any) -> list[list[Any]]:
        outs = await self.engine.generate(prompts, **kwargs)
        # Prompt tokens are the same for every sample of a prompt; the prefill happens once.
        self.counts.record_generation(
            self.model,
            [samples[0].prompt_tokens if samples else 0 for samples in outs],
            [[c.completion_tokens for c in samples] for samples in outs],
        )
        return outs

    def cost(self, verifier: Any | None, specs: Mapping[str, ModelSpec] | None) -> Cost:
        wall = time.perf_counter() - self.start
        table = dict(specs) if specs is not None else {}
        if self.model not in table:
            info = self.engine.info
            if getattr(info, "params", None) is not None:
                table[self.model] = ModelSpec.from_info(info)
        vspec = getattr(verifier, "spec", None)
        if vspec is not None and vspec.name not in table:
            table[vspec.name] = vspec
        missing = [m for m in self.counts.models if m not in table]
        if missing:
            logger.debug("no ModelSpec for %s; eFLOPs and dollars are not computed", missing)
            return Cost.from_counts(self.counts, None, wall_s=wall)
        return Cost.from_counts(self.counts, table, wall_s=wall)


class Strategy(ABC):
    """A test-time-scaling strategy: a frozen dataclass whose fields are its parameters.

    Subclasses validate their parameters in ``__post_init__`` (ValueError/TypeError naming the
    parameter) and implement :meth:`run`.
    """

    name: ClassVar[str] = "strategy"
    uses_verifier: ClassVar[bool] = False

    def params(self) -> dict[str, Any]:
        """The declared parameters and their values."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    @abstractmethod
    async def run(
        self,
        question: str,
        engine: Any,
        *,
        verifier: Any | None = None,
        answer_kind: Any = "math",
        max_tokens: int = 256,
        seed: int | None = None,
        specs: Mapping[str, ModelSpec] | None = None,
    ):
        """Answer ``question`` on ``engine``.

        Parameters
        ----------
        question : str
        engine : uniscale.engines.Engine
        verifier : Verifier or None
            For strategies that score candidates; the default is a
            :class:`~uniscale.strategies.verifiers.SelfConfidenceVerifier` (weak).
        answer_kind : str or callable
            How answers are extracted and compared (see :mod:`uniscale.answers`).
        max_tokens : int
            Most tokens one solution (one path) may generate.
        seed : int or None
            Sampling seed; runs with the same seed on the same engine repeat.
        specs : mapping model name -> ModelSpec, or None
            Shapes and prices for the cost; by default taken from ``engine.info`` (and the
            verifier's ``spec``). eFLOPs and dollars are None when a model has no spec.

        Returns
        -------
        StrategyResult
        """

    @abstractmethod
    def expected_counts(
        self,
        model: str,
        *,
        prompt_tokens: int,
        completion_tokens: int,
        verifier_model: str | None = None,
    ) -> CostCounts:
        """The work one run is expected to do, before running it (for costing an arm space).

        Parameters
        ----------
        model : str
            Name of the policy model (as in the ``ModelSpec`` used to price it).
        prompt_tokens : int
            Expected tokens of the rendered prompt.
        completion_tokens : int
            Expected tokens of one whole solution (one path).
        verifier_model : str or None
            A verifier model whose scoring is costed (None: scoring is free, as with the
            self-confidence verifier).

        Returns
        -------
        CostCounts
            Feed it to :func:`uniscale.cost.eflops` / :func:`~uniscale.cost.dollars` and fit a
            :class:`~uniscale.cost.LogMinMaxNormalizer` over the arms.
        """

    def _check_expected(self, prompt_tokens: Any, completion_tokens: Any) -> None:
        op = f"{type(self).__name__}.expected_counts"
        check_int(op, "prompt_tokens", prompt_tokens)
        check_int(op, "completion_tokens", completion_tokens)

    def _check_run(self, question: Any, max_tokens: Any, seed: Any) -> None:
        op = f"{type(self).__name__}.run"
        if not isinstance(question, str) or not question.strip():
            raise ValueError(f"{op}: question must be a non-empty str, got {question!r}")
        check_int(op, "max_tokens", max_tokens)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"{op}: seed must be an int or None, got {seed!r}")
