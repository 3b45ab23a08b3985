"""Every strategy end to end on the embedded models and real GSM8K / MATH-500 questions, and the
cost relations between strategies. Small n and short outputs keep it quick."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest

from uniscale.aggregate.reference import best_of_n_reference, majority_vote_reference
from uniscale.answers import canonical_key
from uniscale.cost import CostCounts, ModelSpec, eflops, prefill_eflops
from uniscale.strategies import BeamSearch, BestOfN, SelfConsistency, Single, WeightedVote

pytestmark = pytest.mark.slow

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _first(rel: str, field: str, k: int = 1) -> list[str]:
    path = DATA / rel
    if not path.exists():
        pytest.skip(f"{path} is absent (shared data sits beside the clone)")
    rows = [json.loads(line) for line in path.read_text().splitlines()[:k]]
    return [r[field] for r in rows]


def _engine(name: str):
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    from uniscale.engines import get_engine
    from uniscale.errors import EngineError

    try:
        return get_engine(f"llama:{name}")
    except EngineError as exc:
        pytest.skip(f"model {name} is not available: {exc}")


@pytest.fixture(scope="module")
def smol():
    engine = _engine("smollm2-135m")
    yield engine
    asyncio.run(engine.aclose())


def run(coro):
    return asyncio.run(coro)


def _check_result(res, strategy_name: str) -> None:
    assert res.strategy == strategy_name
    assert len(res.candidates) == len(res.candidate_answers) >= 1
    assert res.cost.completion_tokens > 0 and res.cost.prompt_tokens > 0
    assert res.cost.eflops is not None and res.cost.eflops > 0
    assert res.cost.wall_s > 0
    if res.chosen is not None:
        assert res.answer == res.candidate_answers[res.chosen]
    tokens = res.cost.tokens["smollm2-135m"]
    assert tokens.completion == res.cost.completion_tokens


@pytest.mark.parametrize(
    ("rel", "field", "kind"),
    [("gsm8k/test.jsonl", "question", "math"), ("math500/test.jsonl", "problem", "math")],
)
def test_every_strategy_end_to_end(smol, rel: str, field: str, kind: str) -> None:
    [question] = _first(rel, field)
    strategies = [
        Single(greedy=True),
        SelfConsistency(n=2),
        BestOfN(n=2),
        WeightedVote(n=2),
        BeamSearch(qp=2, cp=2, bs=1, max_depth=2, step_tokens=16),
    ]
    for strat in strategies:
        res = run(strat.run(question, smol, answer_kind=kind, max_tokens=32, seed=0))
        _check_result(res, strat.name)
        if strat.uses_verifier:
            assert res.verifier_scores is not None
            assert res.verifier_scores.shape == (len(res.candidates),)
            finite = res.verifier_scores[np.isfinite(res.verifier_scores)]
            assert np.all((finite > 0) & (finite <= 1))  # self-confidence is a probability


def _ids(answers):
    table: dict[str, int] = {}
    keys = [canonical_key(a, "math") for a in answers]
    return np.array([-1 if k is None else table.setdefault(k, len(table)) for k in keys])


def test_vote_and_best_of_n_choose_what_the_references_choose(smol) -> None:
    [question] = _first("gsm8k/test.jsonl", "question")
    sc = run(SelfConsistency(n=3).run(question, smol, max_tokens=32, seed=1))
    ids = _ids(sc.candidate_answers)
    ref = majority_vote_reference(ids[None, :])
    expected = int(np.flatnonzero(ids == ref.winner[0])[0]) if ref.winner[0] >= 0 else None
    assert sc.chosen == expected
    bon = run(BestOfN(n=3).run(question, smol, max_tokens=32, seed=1))
    valid = np.array([a is not None for a in bon.candidate_answers])
    bref = best_of_n_reference(bon.verifier_scores[None, :], valid[None, :])
    assert bon.chosen == (int(bref.index[0]) if bref.index[0] >= 0 else None)


def test_beam_one_one_one_costs_one_greedy_path_plus_step_overhead(smol) -> None:
    [question] = _first("gsm8k/test.jsonl", "question")
    max_tokens = 32
    greedy = run(Single(greedy=True).run(question, smol, max_tokens=max_tokens))
    beam = run(
        BeamSearch(qp=1, cp=1, bs=1, max_depth=40, temperature=0.0).run(
            question, smol, max_tokens=max_tokens
        )
    )
    spec = ModelSpec.from_info(smol.info)
    counts = beam.cost.counts
    assert counts.max_branches == 1 and beam.cost.completion_tokens <= max_tokens
    # step overhead: the prefill of every call after the first (the prompt re-sent with the path)
    overhead = sum(prefill_eflops(spec, r.tokens) for r in counts.prefills[1:])
    # one greedy path of the same length from the same prompt, in one call
    one_path = CostCounts()
    one_path.record_generation(
        spec.name, [counts.prefills[0].tokens], [[beam.cost.completion_tokens]]
    )
    assert beam.cost.eflops - overhead == pytest.approx(eflops(one_path, spec), rel=0.02)
    if beam.cost.completion_tokens == greedy.cost.completion_tokens:
        assert beam.cost.eflops - overhead == pytest.approx(greedy.cost.eflops, rel=0.02)
    assert beam.cost.counts.verifier_tokens == 0  # self-confidence comes with the generation


def test_n_samples_cost_about_n_times_one(smol) -> None:
    [question] = _first("gsm8k/test.jsonl", "question")
    one = run(SelfConsistency(n=1).run(question, smol, max_tokens=24, seed=3))
    four = run(SelfConsistency(n=4).run(question, smol, max_tokens=24, seed=3))
    ratio = four.cost.completion_tokens / one.cost.completion_tokens
    assert 4 * 0.5 <= ratio <= 4 * 2
    assert four.cost.prompt_tokens == one.cost.prompt_tokens  # one prefill for all samples
    # decoding 4 branches together shares the weight reads: dearer than one, cheaper than 4
    assert one.cost.eflops < four.cost.eflops < 4 * one.cost.eflops


def test_early_exit_does_not_raise_cost(smol) -> None:
    [question] = _first("gsm8k/test.jsonl", "question")
    base = BeamSearch(qp=2, cp=2, bs=1, max_depth=3, step_tokens=12)
    fast = BeamSearch(qp=2, cp=2, bs=1, max_depth=3, step_tokens=12, early_exit=True)
    slow_res = run(base.run(question, smol, max_tokens=32, seed=5))
    fast_res = run(fast.run(question, smol, max_tokens=32, seed=5))
    assert fast_res.cost.eflops <= slow_res.cost.eflops
    assert fast_res.cost.completion_tokens <= slow_res.cost.completion_tokens


def test_gemma_single_and_beam() -> None:
    [question] = _first("gsm8k/test.jsonl", "question")
    engine = _engine("gemma3-270m")
    try:
        single = run(Single(greedy=True).run(question, engine, max_tokens=32))
        beam = run(
            BeamSearch(qp=1, cp=2, bs=1, max_depth=2, step_tokens=16).run(
                question, engine, max_tokens=32, seed=0
            )
        )
    finally:
        run(engine.aclose())
    for res in (single, beam):
        assert res.cost.eflops is not None and res.cost.completion_tokens > 0
        assert engine.info.name in res.cost.tokens


def test_self_confidence_asks_the_real_model(smol) -> None:
    from uniscale.strategies import SelfConfidenceVerifier

    [question] = _first("gsm8k/test.jsonl", "question")
    verifier = SelfConfidenceVerifier(smol)
    scores = run(
        verifier.score(question, ["She has 16 - 3 - 4 = 9 eggs.\n\n9 * 2 = 18", "The answer is 5"])
    )
    assert scores.offsets.tolist() == [0, 2, 3]
    assert np.all((scores.step_scores >= 0) & (scores.step_scores <= 1))
    assert scores.counts.generate_calls == 1 and scores.counts.completion_tokens == 3
