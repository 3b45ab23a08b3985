"""Seeded outcome sampling: without replacement, seeding, votes, and the cost tables."""

from __future__ import annotations

import numpy as np
import pytest

from _replay_helpers import make_trace
from uniscale.replay.arms import ReplayArm, build_arms, routing_only, tts_only
from uniscale.replay.costs import compute_costs
from uniscale.replay.outcomes import TraceArrays, answer_key, sample_outcomes
from uniscale.replay.trace import Outcome, Trace, TraceConfig, TraceModel, TraceQuery


def _arm(cid: str, n: int) -> ReplayArm:
    return ReplayArm(cid, cid.split("|")[0], "cot", cid.split("|")[1], "sampling", None, n)


def _distinct_trace(m: int = 8, n_queries: int = 3) -> Trace:
    """Every sample a distinct answer and a distinct power-of-two token count."""
    queries = []
    for q in range(n_queries):
        answers = tuple(f"a{j}" for j in range(m))
        outcomes = {
            "s|a": Outcome(
                answers, tuple(j == 0 for j in range(m)), tuple(2**j for j in range(m)), 7
            )
        }
        queries.append(TraceQuery(str(q), "q", "a0", outcomes))
    return Trace(
        "t",
        "exact",
        {"s": TraceModel(1e9, 1.0, 2.0, 512.0, 2.0)},
        (TraceConfig("s|a", "s", "cot", "a"),),
        tuple(queries),
    )


def test_without_replacement_and_all_samples_when_n_is_the_count():
    arrays = TraceArrays.from_trace(_distinct_trace())
    trials = [(s, 0) for s in range(40)]
    out = sample_outcomes(arrays, [_arm("s|a", 3), _arm("s|a", 8), _arm("s|a", 20)], trials)
    tok3 = out.out_tokens[:, :, 0]
    # distinct powers of two: the sum identifies the drawn set; three different bits = no repeat
    assert np.all([bin(int(v)).count("1") == 3 for v in tok3.ravel()])
    assert np.all(out.used[:, :, 0] == 3)
    assert np.all(out.out_tokens[:, :, 1] == 255) and np.all(out.used[:, :, 1] == 8)
    # asking for more than recorded uses all of them
    assert np.all(out.out_tokens[:, :, 2] == 255) and np.all(out.used[:, :, 2] == 8)
    assert np.all(out.max_tokens[:, :, 1] == 128)
    assert np.all(out.sq_tokens[:, :, 1] == sum(4**j for j in range(8)))
    # every 3-subset is equally likely: each sample is in the draw 3/8 of the time
    bits = np.array([[(int(v) >> j) & 1 for j in range(8)] for v in tok3.ravel()])
    assert np.allclose(bits.mean(axis=0), 3 / 8, atol=0.12)


def test_seeding_is_reproducible_and_independent_of_the_rest():
    tr = make_trace(10)
    arrays = TraceArrays.from_trace(tr)
    arms = build_arms(tr)
    a = sample_outcomes(arrays, arms, [(0, 0), (1, 0), (0, 1)])
    b = sample_outcomes(arrays, arms, [(0, 0), (1, 0), (0, 1)])
    for f in ("correct", "agreement", "out_tokens"):
        assert np.array_equal(getattr(a, f), getattr(b, f))
    # trial (0, 1) alone, and one arm alone, give the same draws as within the big run
    k = 4
    c = sample_outcomes(arrays, [arms[k]], [(0, 1)])
    assert np.array_equal(c.out_tokens[0, :, 0], a.out_tokens[2, :, k])
    assert np.array_equal(c.correct[0, :, 0], a.correct[2, :, k])
    # other seeds and passes draw differently
    assert not np.array_equal(a.out_tokens[0], a.out_tokens[1])
    assert not np.array_equal(a.out_tokens[0], a.out_tokens[2])


def test_majority_vote_outcome_and_agreement():
    answers = ("x", "y", "y", None, "y")
    o = Outcome(answers, (False, True, True, False, True), (1, 1, 1, 1, 1), 0)
    tr = Trace(
        "t",
        "exact",
        {"s": TraceModel(None, 0.0, 0.0)},
        (TraceConfig("s|a", "s", "cot", "a"),),
        (TraceQuery("0", "q", "y", {"s|a": o}),),
    )
    out = sample_outcomes(
        TraceArrays.from_trace(tr), [_arm("s|a", 5), _arm("s|a", 1)], [(s, 0) for s in range(300)]
    )
    assert np.all(out.correct[:, 0, 0])  # y wins 3 to 1; the null does not vote
    assert np.allclose(out.agreement[:, 0, 0], 0.75)
    # a single draw is right 3/5 of the time (the null is wrong and has agreement 0)
    assert out.correct[:, 0, 1].mean() == pytest.approx(0.6, abs=0.08)
    assert np.all(out.agreement[:, 0, 1][~out.correct[:, 0, 1]] <= 1.0)


def test_ties_go_to_either_answer():
    o = Outcome(("x", "y"), (True, False), (1, 1), 0)
    tr = Trace(
        "t",
        "exact",
        {"s": TraceModel(None, 0.0, 0.0)},
        (TraceConfig("s|a", "s", "cot", "a"),),
        (TraceQuery("0", "q", "x", {"s|a": o}),),
    )
    out = sample_outcomes(
        TraceArrays.from_trace(tr), [_arm("s|a", 2)], [(s, 0) for s in range(400)]
    )
    share = out.correct[:, 0, 0].mean()
    assert 0.4 < share < 0.6


def test_number_keys_vote_together():
    assert answer_key("18", "number") == answer_key("18.0", "number")
    assert answer_key("0.1", "number") != answer_key("0.2", "number")
    assert answer_key(None, "exact") is None


def test_incomplete_trace_and_bad_trials_rejected():
    tr = make_trace(3)
    q = tr.queries[0]
    broken = Trace(
        tr.task,
        tr.answer_kind,
        tr.models,
        tr.configs,
        (TraceQuery("z", "q", "g", {"small|a": q.outcomes["small|a"]}),),
    )
    with pytest.raises(ValueError, match="complete queries"):
        TraceArrays.from_trace(broken)
    arrays = TraceArrays.from_trace(tr)
    arms = build_arms(tr)
    with pytest.raises(ValueError, match="distinct"):
        sample_outcomes(arrays, arms, [(0, 0), (0, 0)])
    with pytest.raises(ValueError, match="non-empty"):
        sample_outcomes(arrays, arms, [])
    with pytest.raises(KeyError, match="unknown config"):
        sample_outcomes(arrays, [_arm("nope|a", 1)], [(0, 0)])


def test_arm_grid_and_subspaces():
    tr = make_trace(5)
    arms = build_arms(tr, n_grid=(1, 3, 5, 10, 20))
    names = [a.name for a in arms]
    assert names == [
        "small|a|n=1",
        "small|a|n=3",
        "small|a|n=5",
        "small|a|n=10",
        "small|b|n=1",
        "small|b|n=3",
        "small|b|n=5",
        "big|a|n=1",
        "big|a|n=3",
    ]
    assert [arms[i].n for i in routing_only(arms)] == [1, 1, 1]
    idx, model = tts_only(arms)
    assert model == "small" and len(idx) == 7
    assert tts_only(arms, "big")[0].tolist() == [7, 8]
    with pytest.raises(ValueError, match="n_grid"):
        build_arms(tr, n_grid=(0, 1))
    with pytest.raises(ValueError, match="no arm of model"):
        tts_only(arms, "huge")


def test_costs_match_the_formulas_and_uniscale_cost():
    from uniscale.cost import CostCounts, eflops

    tr = _distinct_trace(m=4, n_queries=1)
    arrays = TraceArrays.from_trace(tr)
    arms = [_arm("s|a", 4)]
    out = sample_outcomes(arrays, arms, [(0, 0)])
    c = compute_costs(out, arms, tr.models, intensity=156.0)
    # prompt 7 tokens, outputs 1 + 2 + 4 + 8 = 15 tokens
    assert c.tokens[0, 0, 0] == 22
    assert c.dollars[0, 0, 0] == pytest.approx((7 * 1.0 + 15 * 2.0) / 1000)
    # the same call recorded the way strategies record theirs: one prompt, 4 samples
    counts = CostCounts()
    counts.record_generation("s", [7], [[1, 2, 4, 8]])
    from uniscale.replay.costs import model_spec

    ref = eflops(counts, {"s": model_spec("s", tr.models["s"])}, 156.0)
    assert c.eflops[0, 0, 0] == pytest.approx(ref, rel=1e-12)


def test_eflops_unknown_params_is_nan():
    tr = make_trace(3)
    arms = build_arms(tr)
    out = sample_outcomes(TraceArrays.from_trace(tr), arms, [(0, 0)])
    c = compute_costs(out, arms, tr.models)
    big = [k for k, a in enumerate(arms) if a.model == "big"]
    small = [k for k, a in enumerate(arms) if a.model == "small"]
    assert np.isnan(c.eflops[..., big]).all()
    assert np.isfinite(c.eflops[..., small]).all()
    with pytest.raises(ValueError, match="arms"):
        compute_costs(out, arms[:-1], tr.models)
