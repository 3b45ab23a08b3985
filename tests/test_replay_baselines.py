"""Hindsight baselines, k-NN, cascade, streams and metrics of the replay."""

from __future__ import annotations

import numpy as np
import pytest

from _replay_helpers import make_trace
from uniscale.cost.normalize import LogMinMaxNormalizer
from uniscale.replay.arms import build_arms
from uniscale.replay.cascade import cascade
from uniscale.replay.costs import compute_costs
from uniscale.replay.hindsight import best_fixed_arm, oracle, play_fixed
from uniscale.replay.knn import knn_router
from uniscale.replay.metrics import interval, summarize
from uniscale.replay.outcomes import TraceArrays, sample_outcomes
from uniscale.replay.steps import PlayLog, RewardWeights, StepTable
from uniscale.replay.streams import make_streams, stream_trials

W = RewardWeights(0.4, 0.4, 0.2)


@pytest.fixture(scope="module")
def setup():
    tr = make_trace(20, seed=3)
    arms = build_arms(tr)
    arrays = TraceArrays.from_trace(tr)
    streams = make_streams(20, [0, 1, 2], passes=2)
    out = sample_outcomes(arrays, arms, stream_trials(streams))
    costs = compute_costs(out, arms, tr.models)
    norm = LogMinMaxNormalizer().fit(costs.dollars.mean(axis=(0, 1)))
    tables = [StepTable.build(st, out, costs, W, "dollars", norm, "agreement") for st in streams]
    return tr, arms, out, costs, norm, tables


def test_streams():
    on = make_streams(10, [0, 1], passes=3)
    assert [s.length for s in on] == [30, 30]
    for p in range(3):
        assert sorted(on[0].queries[on[0].passes == p].tolist()) == list(range(10))
    assert not np.array_equal(on[0].queries, on[1].queries)
    assert not np.array_equal(on[0].queries[:10], on[0].queries[10:20])
    ho = make_streams(10, [4], passes=2, mode="heldout")[0]
    learn, test = set(ho.queries[~ho.evaluate].tolist()), set(ho.queries[ho.evaluate].tolist())
    assert not learn & test and len(learn | test) == 10
    assert ho.evaluate.sum() == 5 and ho.length == 15
    assert set(ho.passes[ho.evaluate].tolist()) == {2}
    assert stream_trials([ho]) == [(4, 0), (4, 1), (4, 2)]
    with pytest.raises(ValueError, match="mode"):
        make_streams(10, [0], mode="offline")
    with pytest.raises(ValueError, match="seeds"):
        make_streams(10, [1, 1])
    with pytest.raises(ValueError, match="passes"):
        make_streams(10, [0], passes=0)


def test_step_table_rewards(setup):
    _, _, out, costs, norm, tables = setup
    t = tables[0]
    st = t.stream
    rows = st.trial_rows(out.trials)
    q, k = st.queries[5], 2
    c = out.correct[rows[5], q, k]
    agr = out.agreement[rows[5], q, k]
    nc = norm(costs.dollars[rows[5], q, k])
    assert t.reward[5, k] == pytest.approx(0.4 * c + 0.4 * agr + 0.2 * (1 - nc))


def test_oracle_dominates_every_arm_and_policy(setup):
    _, arms, _, _, _, tables = setup
    rng = np.random.default_rng(0)
    for t in tables:
        o = oracle(t)
        assert np.all(o.reward[:, None] >= t.reward - 1e-12)
        for _ in range(5):
            log = PlayLog.from_arms("r", t, rng.integers(0, len(arms), t.n_steps))
            assert np.all(o.reward >= log.reward - 1e-12)
        log = knn_router(t, np.random.default_rng(1).random((20, 5)), k=3)
        assert np.all(o.reward >= log.reward - 1e-12)


def test_best_fixed_is_the_arm_with_most_total_reward(setup):
    _, arms, _, _, _, tables = setup
    for t in tables:
        totals = [sum(t.reward[s, k] for s in range(t.n_steps)) for k in range(len(arms))]
        assert best_fixed_arm(t) == int(np.argmax(totals))
        half = np.arange(t.n_steps) < t.n_steps // 2
        assert best_fixed_arm(t, half) == int(np.argmax(t.reward[half].sum(axis=0)))
        bf = play_fixed(t, best_fixed_arm(t), "bf")
        for k in range(len(arms)):
            assert bf.reward.sum() >= play_fixed(t, k, "x").reward.sum() - 1e-9
    with pytest.raises(ValueError, match="at least one step"):
        best_fixed_arm(tables[0], np.zeros(tables[0].n_steps, bool))


def test_knn_learns_from_labels():
    """Two kinds of query, each with its own best arm: k-NN must route them apart."""
    tr = make_trace(40, seed=1)
    arms = build_arms(tr)
    arrays = TraceArrays.from_trace(tr)
    st = make_streams(40, [0], passes=3)[0]
    out = sample_outcomes(arrays, arms, stream_trials([st]))
    costs = compute_costs(out, arms, tr.models)
    norm = LogMinMaxNormalizer().fit(costs.dollars.mean(axis=(0, 1)))
    t = StepTable.build(st, out, costs, W, "dollars", norm, "agreement")
    kind = np.arange(40) % 2
    good = np.where(
        kind[st.queries][:, None] == 0,
        np.arange(len(arms)) == 0,
        np.arange(len(arms)) == len(arms) - 1,
    )
    t = StepTable(st, good.astype(float), t.correct, t.verifier, t.agreement, t.costs, t.norm_cost)
    phi = np.stack([kind, 1 - kind], axis=1).astype(float)
    log = knn_router(t, phi, k=5, train_fraction=0.3)
    after = np.arange(t.n_steps) >= round(0.3 * t.n_steps)
    assert log.reward[after].mean() == 1.0
    with pytest.raises(ValueError, match="train_fraction"):
        knn_router(t, phi, train_fraction=1.0)
    with pytest.raises(ValueError, match="query_features"):
        knn_router(t, phi[:3])


def test_cascade_escalates_on_low_agreement(setup):
    _, arms, _, _, norm, tables = setup
    t = tables[0]
    weak, strong = 1, len(arms) - 1
    never, share0 = cascade(t, weak, strong, 0.0, weights=W, cost_unit="dollars", normalizer=norm)
    assert share0 == 0.0
    assert np.array_equal(never.correct, t.correct[:, weak])
    assert np.allclose(never.reward, t.reward[:, weak])
    log, share = cascade(t, weak, strong, 0.8, weights=W, cost_unit="dollars", normalizer=norm)
    esc = t.agreement[:, weak] < 0.8
    assert share == pytest.approx(esc.mean())
    assert np.array_equal(log.correct, np.where(esc, t.correct[:, strong], t.correct[:, weak]))
    want = t.costs["dollars"][:, weak] + esc * t.costs["dollars"][:, strong]
    assert np.allclose(log.dollars, want)
    with pytest.raises(IndexError, match="strong"):
        cascade(t, 0, 99, 0.5, weights=W, cost_unit="dollars", normalizer=norm)
    with pytest.raises(ValueError, match="threshold"):
        cascade(t, 0, 1, 1.5, weights=W, cost_unit="dollars", normalizer=norm)


def test_interval_matches_student_t():
    iv = interval([1.0, 2.0, 3.0, 4.0])
    half = 3.182 * np.std([1, 2, 3, 4], ddof=1) / 2
    assert iv.mean == 2.5
    assert iv.lo == pytest.approx(2.5 - half) and iv.hi == pytest.approx(2.5 + half)
    one = interval([0.3])
    assert one.lo == one.hi == 0.3
    with pytest.raises(ValueError, match="non-empty"):
        interval([])


def test_summaries_pair_regret_per_seed(setup):
    _, _, _, _, _, tables = setup
    runs = []
    for t in tables:
        runs.append(
            {
                "a": play_fixed(t, 0, "a"),
                "best_fixed": play_fixed(t, best_fixed_arm(t), "best_fixed"),
                "oracle": oracle(t),
            }
        )
    s = summarize(runs, [t.stream.evaluate for t in tables])
    for i in range(len(tables)):
        want = (runs[i]["oracle"].reward - runs[i]["a"].reward).sum()
        assert s["a"].per_seed["regret_oracle"][i] == pytest.approx(want)
    assert s["oracle"].figures["regret_oracle"].mean == 0.0
    assert s["best_fixed"].figures["regret_fixed"].mean == 0.0
    assert s["a"].curve_oracle.shape == (tables[0].n_steps,)
    assert np.all(np.diff(s["a"].curve_oracle) >= -1e-12)
    with pytest.raises(ValueError, match="reference policy"):
        summarize([{"a": runs[0]["a"]}], [tables[0].stream.evaluate])


def test_mixed_vote_cascade(setup):
    from uniscale.replay.outcomes import vote_mixture

    tr, arms, out, _, norm, tables = setup
    arrays = TraceArrays.from_trace(tr)
    a, b = 1, 5  # small|a n=3 and small|b n=3
    assert arms[a].n == arms[b].n == 3 and arms[a].config_id != arms[b].config_id
    trials = [tuple(t) for t in out.trials.tolist()]
    correct, agree = vote_mixture(arrays, [arms[a], arms[b]], trials)
    # the parts draw what the arms draw: one part alone votes exactly like its arm
    c1, g1 = vote_mixture(arrays, [arms[a]], trials)
    assert np.array_equal(c1, out.correct[..., a]) and np.allclose(g1, out.agreement[..., a])
    # six votes of shared answer ids: agreement is a multiple of 1/6 (or of 1/5, 1/4 ... when
    # some samples lack an answer), never above 1
    assert np.all((agree > 0) & (agree <= 1))
    t = tables[0]
    rows = t.stream.trial_rows(out.trials)
    q = t.stream.queries
    wv = (correct[rows, q], agree[rows, q], np.zeros(t.n_steps))
    strong = len(arms) - 1
    log, share = cascade(
        t, [a, b], strong, 0.9, weights=W, cost_unit="dollars", normalizer=norm, weak_vote=wv
    )
    esc = wv[1] < 0.9
    assert share == pytest.approx(esc.mean())
    assert np.array_equal(log.correct, np.where(esc, t.correct[:, strong], wv[0]))
    want = t.costs["dollars"][:, a] + t.costs["dollars"][:, b] + esc * t.costs["dollars"][:, strong]
    assert np.allclose(log.dollars, want)
    with pytest.raises(ValueError, match="weak_vote"):
        cascade(t, [a, b], strong, 0.9, weights=W, cost_unit="dollars", normalizer=norm)


def test_without_verifier_matches_the_router():
    from uniscale.router.reward import PRESETS as ROUTER

    for name, cfg in ROUTER.items():
        w = RewardWeights(cfg.w_correct, cfg.w_verifier, cfg.w_cost).without_verifier()
        assert w.verifier == 0.0
        for c, nc in ((1.0, 0.3), (0.0, 0.9), (1.0, 0.0)):
            want = cfg.combine({"correct": c, "cost": nc})
            got = w.combine(np.array([c]), np.array([0.0]), np.array([nc]))[0]
            assert got == pytest.approx(want), name
    with pytest.raises(ValueError, match="only the verifier"):
        RewardWeights(0.0, 1.0, 0.0).without_verifier()
