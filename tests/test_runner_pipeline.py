"""The routing pipeline and the run loop: cost units, verifier signal, bad input, the shipped arm
space, and a short real run on the embedded engine."""

from __future__ import annotations

import asyncio
import io
import json
import math

import numpy as np
import pytest

from uniscale.cost import Cost, CostCounts, ModelSpec
from uniscale.errors import UnknownDecisionError
from uniscale.router import Arm, ArmSpace, Router
from uniscale.runner.loop import ArmStats, RunStats, run_questions
from uniscale.runner.pipeline import (
    Pipeline,
    arm_label,
    cost_value,
    default_arms_path,
    verifier_signal,
)
from uniscale.runner.questions import Question, load_questions
from uniscale.runner.report import summary_table
from uniscale.runner.setup import make_pipeline
from uniscale.strategies import StrategyResult

SMOL = {"name": "smollm2-135m", "engine": "llama:smollm2-135m", "params": 135e6}


def _cost(wall_s: float = 2.0) -> Cost:
    counts = CostCounts()
    counts.record_generation("m", [100], [[20, 30]])
    spec = ModelSpec("m", params=1e8, n_layers=10, hidden_size=256, price_out_per_1k=0.5)
    return Cost.from_counts(counts, {"m": spec}, wall_s=wall_s)


def _result(scores=None, chosen=None, answers=("4", "5")) -> StrategyResult:
    return StrategyResult(
        answer=None if chosen is None else answers[chosen],
        candidates=[f"so {a}" for a in answers],
        candidate_answers=list(answers),
        verifier_scores=None if scores is None else np.asarray(scores, dtype=np.float64),
        chosen=chosen,
        agreement=None,
        cost=_cost(),
        strategy="best_of_n",
    )


def test_cost_value_in_every_unit() -> None:
    cost = _cost(wall_s=2.5)
    assert cost_value(cost, "tokens") == 150.0
    assert cost_value(cost, "seconds") == 2.5
    assert cost_value(cost, "eflops") == pytest.approx(cost.eflops) and cost.eflops > 0
    assert cost_value(cost, "dollars") == pytest.approx(50 * 0.5 / 1000)
    with pytest.raises(ValueError, match="unit must be one of"):
        cost_value(cost, "joules")


def test_verifier_signal() -> None:
    assert verifier_signal(_result()) is None
    assert verifier_signal(_result([0.2, 0.9], chosen=0)) == pytest.approx(0.2)
    # The chosen score is NaN: the best finite score stands in.
    assert verifier_signal(_result([math.nan, 0.7], chosen=0)) == pytest.approx(0.7)
    assert verifier_signal(_result([math.nan, math.nan], chosen=None)) is None
    assert verifier_signal(_result([1.5, 0.1], chosen=0)) == 1.0


def test_arm_label_is_the_arm_id() -> None:
    assert arm_label(Arm("m", "sc", {"n": 3}, kind="self_consistency")) == "m/sc/n=3"


def test_shipped_default_arm_space() -> None:
    space = ArmSpace.from_file(default_arms_path())
    assert list(space.models) == ["smollm2-135m", "gemma3-270m"]
    assert {m.engine for m in space.models.values()} == {"llama:smollm2-135m", "llama:gemma3-270m"}
    for model in space.models:
        kinds = sorted((a.kind, a.n_samples) for a in space.arms if a.model == model)
        assert kinds == [
            ("beam_search", 2),
            ("best_of_n", 3),
            ("self_consistency", 3),
            ("self_consistency", 5),
            ("single", 1),
        ]
    with pytest.raises(ValueError, match="no shipped arm-space config named 'nope.yaml'"):
        default_arms_path("nope")


def test_make_pipeline_defaults_and_errors(tmp_path) -> None:
    pipeline = make_pipeline()
    assert pipeline.router.reward.w_cost == 0.8  # cost-sensitive by default
    assert pipeline.default_max_tokens == 256 and pipeline.cost_unit == "eflops"
    assert pipeline.model_names() == ["smollm2-135m", "gemma3-270m"]
    assert len(pipeline.arms()) == 10
    with pytest.raises(ValueError, match="preset must be one of"):
        make_pipeline(preset="cheap")
    with pytest.raises(ValueError, match="cost_unit must be one of"):
        make_pipeline(cost_unit="joules")


def test_bad_calls_leave_the_router_untouched() -> None:
    pipeline = Pipeline(router=Router(ArmSpace([SMOL], [{"name": "single"}])))
    before = pipeline.router.store.state()[0]
    with pytest.raises(ValueError, match="question must be a non-empty string"):
        asyncio.run(pipeline.answer("  "))
    with pytest.raises(ValueError, match=r"unknown models \['gpt'\]"):
        asyncio.run(pipeline.answer("2+2?", models=["gpt"]))
    with pytest.raises(UnknownDecisionError, match="'x' is unknown"):
        pipeline.feedback("x", correct=True)
    assert pipeline.router.store.state()[0] == before
    assert pipeline.router.n_pending == 0 and pipeline.decisions_made() == 0


def test_summary_table_rows() -> None:
    from rich.console import Console

    stats = RunStats(total=3)
    stats.arms["a/single/"] = ArmStats(
        chosen=2, graded=2, correct=1, reward_sum=1.2, rewarded=2, tokens=300, wall_s=4
    )
    stats.arms["b/sc/n=3"] = ArmStats(chosen=1, graded=0, tokens=90, wall_s=1)
    stats.answered = 3
    console = Console(width=160, record=True)
    console.print(summary_table(stats, title="t"))
    text = console.export_text()
    assert "a/single/" in text and "50.0% (1/2)" in text and "0.600" in text
    assert "b/sc/n=3" in text
    overall = stats.overall
    assert (overall.chosen, overall.correct, overall.graded, overall.tokens) == (3, 1, 2, 390)


@pytest.mark.slow
def test_run_loop_on_the_embedded_engine() -> None:
    space = ArmSpace([SMOL], [{"name": "single", "kind": "single", "fixed": {"greedy": True}}])
    pipeline = Pipeline(router=Router(space, reward="quality_priority", warmup=0))
    questions = [
        Question(id="a", text="What is 2 + 3?", gold="5"),
        Question(id="b", text="Name a colour.", gold=None),
    ]
    log = io.StringIO()
    seen: list[str] = []

    async def go() -> RunStats:
        try:
            return await run_questions(
                pipeline,
                questions,
                log=log,
                max_tokens=24,
                on_answer=lambda i, q, r, s: seen.append(q.id),
            )
        finally:
            await pipeline.aclose()

    stats = asyncio.run(go())
    rows = [json.loads(line) for line in log.getvalue().splitlines()]
    assert seen == ["a", "b"] and [r["question_id"] for r in rows] == ["a", "b"]
    assert isinstance(rows[0]["correct"], bool) and rows[1]["correct"] is None
    s = stats.arms["smollm2-135m/single/greedy=True"]
    assert (s.chosen, s.graded, s.rewarded) == (2, 1, 2)
    assert s.tokens == sum(
        r["cost"]["prompt_tokens"] + r["cost"]["completion_tokens"] for r in rows
    )
    # Both decisions closed: the ungraded one learned from its cost alone.
    assert pipeline.router.policy.n_updates == 2 and pipeline.pending_count() == 0


def test_example_file_loads_for_the_readme_command() -> None:
    from pathlib import Path

    qs = load_questions(
        Path(__file__).resolve().parents[1] / "examples" / "questions.jsonl", limit=2
    )
    assert [q.id for q in qs] == ["ex01", "ex02"]


def test_reporter_lines_carry_running_accuracy_and_cost() -> None:
    from rich.console import Console

    from uniscale.runner.report import Reporter

    console = Console(width=200, record=True)
    stats = RunStats(total=2)
    stats.arms["m/single/"] = ArmStats(chosen=1, graded=1, correct=1, tokens=120, eflops=2e12)
    stats.answered = 1
    q = Question(id="q1", text="2+2?", gold="4")
    record = {
        "arm": "m/single/",
        "answer": "4",
        "correct": True,
        "wall_s": 1.25,
        "cost": {"prompt_tokens": 100, "completion_tokens": 20},
    }
    with Reporter(console, 2, show_bar=True) as reporter:
        reporter(0, q, record, stats)
        stats.errors = 1
        reporter(1, Question(id="q2", text="x?", gold=None), {"error": "engine down"}, stats)
    text = console.export_text()
    assert "[1/2] q1: m/single/  answer=4 gold=4 right  tokens=120  1.2s" in text
    assert "acc 100.0%  tokens/q 120  eFLOPs total 2e+12" in text
    assert "[2/2] q2: error engine down" in text


def _answered_decision(pipeline: Pipeline, question: str = "2+2?") -> str:
    """A decision in the state the pipeline leaves an answered one: decided, cost told."""
    decision = pipeline.router.decide(question)
    pipeline.router.feedback(decision.id, cost=1e-3)
    return str(decision.id)


def test_pending_decisions_survive_save_and_load_pipeline(tmp_path) -> None:
    # make_pipeline(load=...) is what `serve --load` runs; the warm-up decision is answered
    # (cost known) but waits for its outcome when the first process stops.
    first = make_pipeline(arms=None, seed=1)
    did = _answered_decision(first)
    assert first.pending_count() == 1 and first.decisions_made() == 1
    first.save(tmp_path / "state")
    second = make_pipeline(load=tmp_path / "state")
    assert second.pending_count() == 1 and second.decisions_made() == 1
    label, _reward = second.feedback(did, correct=True)
    assert label == first.router.store.pending[did].arm_id
    assert second.pending_count() == 0 and second.router.n_pending == 0
    with pytest.raises(UnknownDecisionError, match="already closed"):
        second.feedback(did, correct=True)


def test_decided_but_unanswered_decision_takes_no_feedback() -> None:
    pipeline = Pipeline(router=Router(ArmSpace([SMOL], [{"name": "single"}])))
    decision = pipeline.router.decide("2+2?")  # no cost yet: the answer is still being made
    with pytest.raises(UnknownDecisionError, match="is unknown, already closed"):
        pipeline.feedback(str(decision.id), correct=True)
    assert pipeline.router.n_pending == 1 and pipeline.pending_count() == 0


def test_make_pipeline_accepts_both_preset_spellings(tmp_path) -> None:
    for spelling in ("cost-sensitive", "cost_sensitive", "Cost_Sensitive"):
        assert make_pipeline(preset=spelling).router.reward.w_cost == 0.8
    assert make_pipeline(preset="quality_priority").router.reward.w_cost == 0.2


def test_make_pipeline_names_the_option_of_a_bad_file(tmp_path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("models: [\n  - {name: a\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"--arms '.*broken.yaml': .*line 2, column 3"):
        make_pipeline(arms=broken)
    with pytest.raises(ValueError, match=r"--arms '.*nope.yaml': no such file"):
        make_pipeline(arms=tmp_path / "nope.yaml")
    with pytest.raises(ValueError, match=r"--arms '.*': is a directory"):
        make_pipeline(arms=tmp_path)
    with pytest.raises(ValueError, match=r"--load '.*nowhere': does not exist"):
        make_pipeline(load=tmp_path / "nowhere")
    with pytest.raises(ValueError, match=r"--load '.*broken.yaml': is a file"):
        make_pipeline(load=broken)
    with pytest.raises(ValueError, match=r"--load '.*': cannot restore the router"):
        make_pipeline(load=tmp_path)


@pytest.mark.slow
def test_a_question_too_long_for_the_context_is_not_an_engine_failure() -> None:
    from uniscale.engines import get_engine
    from uniscale.runner.pipeline import PromptTooLongError

    pytest.importorskip("llama_cpp")
    engine = get_engine("llama:smollm2-135m")
    try:
        models = [SMOL, {"name": "other", "engine": "llama:smollm2-135m", "params": 135e6}]
        router = Router(ArmSpace(models, [{"name": "single", "fixed": {"greedy": True}}]))
        # fallback=1: a too-long question must not be retried on another model either.
        pipeline = Pipeline(
            router=router,
            fallback=1,
            engines={"smollm2-135m": engine, "other": engine},
        )
        n_ctx = engine.info.context_length
        with pytest.raises(PromptTooLongError, match=f"context of .* \\({n_ctx} tokens"):
            asyncio.run(pipeline.answer("apple " * (2 * n_ctx), max_tokens=4))
        assert router.n_pending == 0 and router.policy.n_selected == 1
        assert isinstance(PromptTooLongError("x"), ValueError)
    finally:
        asyncio.run(engine.aclose())
