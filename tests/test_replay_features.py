"""Replay features, the bandit loop over a router policy, and the budget pacer."""

from __future__ import annotations

import numpy as np
import pytest

from _replay_helpers import make_trace
from uniscale.cost.normalize import LogMinMaxNormalizer
from uniscale.replay.arms import build_arms
from uniscale.replay.bandit import run_policy
from uniscale.replay.budget import BudgetPacer, budget_weights
from uniscale.replay.costs import compute_costs
from uniscale.replay.features import (
    arm_features,
    expected_arm_costs,
    joint_features,
    query_features,
)
from uniscale.replay.outcomes import TraceArrays, sample_outcomes
from uniscale.replay.steps import RewardWeights, StepTable
from uniscale.replay.streams import make_streams, stream_trials
from uniscale.router.policies import make_policy


@pytest.fixture(scope="module")
def parts():
    tr = make_trace(16, seed=4)
    arms = build_arms(tr)
    arrays = TraceArrays.from_trace(tr)
    exp = expected_arm_costs(tr, arrays, arms)
    phi = query_features([q.question for q in tr.queries])
    psi = arm_features(arms, exp)
    X = joint_features(phi, psi, target_dim=32)
    st = make_streams(16, [0], passes=4)[0]
    out = sample_outcomes(arrays, arms, stream_trials([st]))
    costs = compute_costs(out, arms, tr.models)
    norm = LogMinMaxNormalizer().fit(exp)
    table = StepTable.build(st, out, costs, RewardWeights(0.4, 0.4, 0.2), "dollars", norm, "none")
    return tr, arms, arrays, exp, phi, psi, X, table, norm


def test_expected_costs_follow_prices_and_n(parts):
    tr, arms, arrays, exp, *_ = parts
    k = 0
    a = arms[k]
    ci = arrays.config_index(a.config_id)
    per_sample = arrays.tokens[ci].sum(1) / arrays.count[:, ci]
    want = np.mean(arrays.prompt_tokens[:, ci] * 0.001 + a.n * per_sample * 0.002) / 1000
    assert exp[k] == pytest.approx(want)
    small = [i for i, x in enumerate(arms) if x.config_id == "small|a"]
    assert np.all(np.diff(exp[small]) > 0)  # more samples cost more
    with pytest.raises(ValueError, match="unit"):
        expected_arm_costs(tr, arrays, arms, "eflops")


def test_arm_and_joint_features(parts):
    _, arms, _, exp, phi, psi, X, *_ = parts
    assert psi.shape[0] == len(arms) and np.all((psi >= 0) & (psi <= 1))
    # model one-hot (2), prompt set one-hot (2), log n, cost; constant method/decoding dropped
    assert psi.shape[1] == 6
    assert X.shape[:2] == (16, len(arms)) and np.isfinite(X).all()
    Xs = joint_features(phi, psi, target_dim=32, scale=True)
    assert np.sqrt((Xs**2).sum(-1)).max() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="expected_cost"):
        arm_features(arms, np.zeros(len(arms)))
    with pytest.raises(ValueError, match="featurizer"):
        query_features(["a"], "bert")


def test_run_policy_learns_and_respects_subsets(parts):
    _, arms, _, _, _, _, X, table, _ = parts
    d = X.shape[2]
    pol = make_policy("linucb", d=d, warmup=4, seed=0)
    log = run_policy(pol, X, table, name="u")
    assert pol.n_updates == table.n_steps
    assert log.reward.shape == (table.n_steps,)
    subset = np.array([1, 3, 5])
    log_s = run_policy(make_policy("greedy", d=d, seed=1), X, table, name="s", subset=subset)
    assert set(log_s.arms.tolist()) <= set(subset.tolist())
    with pytest.raises(ValueError, match="query"):
        run_policy(make_policy("disjoint", n_arms=len(arms), d=4), X, table, name="x")
    pacer = BudgetPacer(0.001, np.zeros(len(arms)))
    with pytest.raises(ValueError, match="subset"):
        run_policy(make_policy("greedy", d=d), X, table, name="x", subset=subset, pacer=pacer)


def test_budget_pacer_prices_spending(parts):
    _, arms, _, exp, _, _, X, table, norm = parts
    nc = np.asarray(norm(exp))
    p = BudgetPacer(0.001, nc, eta=0.5)
    assert np.all(p.penalty() == 0.0)
    p.observe(0.004)  # four times the target: the price goes up
    assert p.controller.lam == pytest.approx(1.5)
    assert np.allclose(p.penalty(), 1.5 * nc)
    for _ in range(10):
        p.observe(0.0)
    assert p.controller.lam == 0.0
    with pytest.raises(ValueError, match="norm_cost"):
        BudgetPacer(0.001, np.array([2.0]))
    assert budget_weights(RewardWeights(0.1, 0.1, 0.8)) == RewardWeights(0.5, 0.5, 0.0)
