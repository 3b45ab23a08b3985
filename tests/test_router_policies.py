"""The policy interface: selections, masks, penalties, propensities, warm-up, seeds, bad input,
state round trips, and the planted-linear-reward regret ordering."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from uniscale.router.joint import JointFeaturizer
from uniscale.router.policies import (
    POLICIES,
    DisjointLinUCBPolicy,
    EpsilonGreedyPolicy,
    FixedArmPolicy,
    GreedyPolicy,
    LinearThompsonPolicy,
    LinUCBPolicy,
    RandomPolicy,
    Selection,
    make_policy,
)

D = 6


def _joint_policies(warmup: int = 0, seed: int = 0):
    return [
        LinUCBPolicy(D, warmup=warmup, seed=seed),
        GreedyPolicy(D, warmup=warmup, seed=seed),
        EpsilonGreedyPolicy(D, epsilon=0.3, warmup=warmup, seed=seed),
        LinearThompsonPolicy(D, propensity_samples=64, warmup=warmup, seed=seed),
        RandomPolicy(D, warmup=warmup, seed=seed),
    ]


def _trained(policy, rng, n=30, K=7):
    for _ in range(n):
        X = rng.normal(size=(1, K, policy.d))
        s = policy.select(X)
        policy.update(X[0, s.arms[0]], int(s.arms[0]), float(rng.normal()))
    return policy


def _state_equal(a, b) -> bool:
    ma, xa = a.state_dict()
    mb, xb = b.state_dict()
    return ma == mb and xa.keys() == xb.keys() and all(np.array_equal(xa[k], xb[k]) for k in xa)


@pytest.mark.parametrize("policy", _joint_policies(), ids=lambda p: p.name)
def test_selection_shapes_and_dtypes(policy):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5, 9, D))
    s = policy.select(X)
    assert isinstance(s, Selection)
    arms, scores, widths, props = s
    assert arms.dtype == np.int64 and arms.shape == (5,)
    assert scores.shape == widths.shape == props.shape == (5,)
    assert np.all((arms >= 0) & (arms < 9))
    assert policy.n_selected == 5


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    B=st.integers(1, 6),
    K=st.integers(1, 17),
    warm=st.integers(0, 4),
    which=st.sampled_from(["linucb", "greedy", "epsilon_greedy", "thompson", "random"]),
)
def test_masks_are_respected(seed, B, K, warm, which):
    rng = np.random.default_rng(seed)
    policy = make_policy(which, d=D, warmup=warm, seed=seed)
    _trained(policy, rng, n=3, K=K)
    X = rng.normal(size=(B, K, D))
    mask = rng.random((B, K)) < 0.4
    mask[np.arange(B), rng.integers(0, K, B)] = True
    s = policy.select(X, mask)
    assert np.all(mask[np.arange(B), s.arms])
    allowed = mask.sum(axis=1)
    uniform = np.isclose(s.propensities, 1.0 / allowed)
    assert np.all((s.propensities > 0) | np.isnan(s.propensities))
    if which in ("random",):
        assert np.all(uniform)


def test_disjoint_mask_and_argmax_match_reference():
    rng = np.random.default_rng(3)
    pol = DisjointLinUCBPolicy(5, D, alpha=0.7)
    for _ in range(40):
        x = rng.normal(size=D)
        pol.update(x, int(rng.integers(0, 5)), float(rng.normal()))
    X = rng.normal(size=(8, D))
    mask = rng.random((8, 5)) < 0.6
    mask[:, 2] = True
    s = pol.select(X, mask)
    A_inv, theta = np.asarray(pol.core.A_inv), np.asarray(pol.core.theta)
    mean = X @ theta.T
    width = np.sqrt(np.einsum("bd,kde,be->bk", X, A_inv, X))
    ucb = np.where(mask, mean + 0.7 * width, -np.inf)
    np.testing.assert_array_equal(s.arms, np.argmax(ucb, axis=1))
    np.testing.assert_allclose(s.widths, width[np.arange(8), s.arms], rtol=1e-9)
    assert np.all(s.propensities == 1.0)


def test_linucb_score_is_mean_plus_alpha_width_minus_penalty():
    rng = np.random.default_rng(4)
    pol = _trained(LinUCBPolicy(D, alpha=0.5), rng)
    X = rng.normal(size=(3, 7, D))
    pen = rng.random(7)
    s = pol.select(X, penalty=pen)
    mean, width = pol.core.scores(X)
    value = mean + 0.5 * width - pen
    np.testing.assert_array_equal(s.arms, np.argmax(value, axis=1))
    np.testing.assert_allclose(s.scores, value[np.arange(3), s.arms], rtol=1e-12)
    np.testing.assert_allclose(s.widths, width[np.arange(3), s.arms], rtol=1e-12)


def test_penalty_moves_the_choice():
    pol = LinUCBPolicy(2, alpha=0.0)
    for _ in range(5):
        pol.update(np.array([1.0, 0.0]), 0, 1.0)
        pol.update(np.array([0.0, 1.0]), 1, 0.5)
    X = np.array([[[1.0, 0.0], [0.0, 1.0]]])
    assert pol.select(X).arms[0] == 0
    assert pol.select(X, penalty=np.array([1.0, 0.0])).arms[0] == 1


def test_ties_go_to_lowest_allowed_index():
    pol = GreedyPolicy(D)
    X = np.zeros((2, 5, D))
    mask = np.array([[True] * 5, [False, False, True, True, True]])
    np.testing.assert_array_equal(pol.select(X, mask).arms, [0, 2])


def test_warmup_is_uniform_then_policy_rule():
    pol = LinUCBPolicy(D, warmup=300, seed=5)
    X = np.zeros((300, 4, D))
    X[:, 0, 0] = 1.0
    s = pol.select(X)
    assert np.all(s.propensities == 0.25) and np.all(np.isnan(s.scores))
    counts = np.bincount(s.arms, minlength=4)
    assert counts.min() > 50  # ~75 each; a stuck draw would fail
    s2 = pol.select(X[:3])
    assert np.all(s2.propensities == 1.0) and np.all(np.isfinite(s2.scores))


def test_warmup_boundary_inside_a_batch():
    pol = GreedyPolicy(D, warmup=3)
    s = pol.select(np.zeros((5, 4, D)))
    assert np.all(np.isnan(s.scores[:3])) and np.all(np.isfinite(s.scores[3:]))


@pytest.mark.parametrize("name", ["linucb", "epsilon_greedy", "thompson", "random"])
def test_same_seed_same_choices_different_seed_differs(name):
    def run(seed):
        rng = np.random.default_rng(11)
        pol = make_policy(name, d=D, warmup=5, seed=seed)
        arms = []
        for _ in range(40):
            X = rng.normal(size=(1, 12, D))
            s = pol.select(X)
            arms.append(int(s.arms[0]))
            pol.update(X[0, s.arms[0]], int(s.arms[0]), float(X[0, s.arms[0], 0]))
        return arms

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_epsilon_greedy_propensity_and_frequency():
    rng = np.random.default_rng(6)
    pol = EpsilonGreedyPolicy(2, epsilon=0.2, seed=1)
    for _ in range(5):
        pol.update(np.array([1.0, 0.0]), 0, 1.0)
    X = np.tile(np.array([[[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [0.0, 1.0]]]), (4000, 1, 1))
    s = pol.select(X, rng=rng)
    greedy = s.arms == 0
    np.testing.assert_allclose(s.propensities[greedy], 0.8 + 0.05)
    np.testing.assert_allclose(s.propensities[~greedy], 0.05)
    assert abs(greedy.mean() - 0.85) < 0.03


def test_thompson_propensity_estimates_choice_frequency():
    rng = np.random.default_rng(8)
    pol = LinearThompsonPolicy(2, v=1.0, propensity_samples=400, seed=3)
    for _ in range(3):
        pol.update(np.array([1.0, 0.0]), 0, 0.6)
        pol.update(np.array([0.0, 1.0]), 1, 0.4)
    X = np.tile(np.array([[[1.0, 0.0], [0.0, 1.0]]]), (3000, 1, 1))
    s = pol.select(X, rng=rng)
    freq0 = np.mean(s.arms == 0)
    est0 = np.mean(np.where(s.arms == 0, s.propensities, 1 - s.propensities))
    assert abs(freq0 - est0) < 0.05
    assert 0.5 < freq0 < 0.95
    assert np.all(np.isnan(LinearThompsonPolicy(2).select(X[:2]).propensities))


def test_fixed_arm_policy():
    pol = FixedArmPolicy(D, arm=2)
    s = pol.select(np.zeros((3, 5, D)))
    np.testing.assert_array_equal(s.arms, [2, 2, 2])
    assert np.all(s.propensities == 1.0)
    mask = np.ones((3, 5), bool)
    mask[1, 2] = False
    before = pol.state_dict()
    with pytest.raises(ValueError, match="forbids the fixed arm 2"):
        pol.select(np.zeros((3, 5, D)), mask)
    assert pol.state_dict() == before
    with pytest.raises(IndexError, match="only 2 arms"):
        pol.select(np.zeros((1, 2, D)))
    pol.remove_arms([0])
    assert pol.arm == 1
    with pytest.raises(ValueError, match="cannot remove the fixed arm"):
        pol.remove_arms([1])


def test_disjoint_add_remove_keeps_learned_arms():
    rng = np.random.default_rng(9)
    pol = DisjointLinUCBPolicy(4, D, alpha=1.0)
    for _ in range(30):
        pol.update(rng.normal(size=D), int(rng.integers(0, 4)), float(rng.normal()))
    X = rng.normal(size=(3, D))
    mean, width = pol.core.scores(X)
    first = pol.add_arms(2)
    assert first == 4 and pol.n_arms == 6
    mean2, width2 = pol.core.scores(X)
    np.testing.assert_allclose(mean2[:, :4], mean, rtol=1e-12)
    np.testing.assert_allclose(mean2[:, 4:], 0.0, atol=1e-12)
    pol.remove_arms([1])
    mean3, width3 = pol.core.scores(X)
    np.testing.assert_allclose(mean3[:, :3], mean[:, [0, 2, 3]], rtol=1e-12)
    np.testing.assert_allclose(width3[:, :3], width[:, [0, 2, 3]], rtol=1e-12)
    with pytest.raises(ValueError, match="cannot remove every arm"):
        pol.remove_arms(list(range(pol.n_arms)))
    with pytest.raises(IndexError):
        pol.remove_arms([99])


def _bad_selects(K=5):
    good = np.zeros((2, K, D))
    nan = good.copy()
    nan[0, 1, 2] = np.nan
    no_arm = np.ones((2, K), bool)
    no_arm[1] = False
    return [
        ((np.zeros((2, K, D + 1)),), {}, ValueError, "expected \\(B, K, 6\\)"),
        ((np.zeros((K, D)),), {}, ValueError, "expected \\(B, K, 6\\)"),
        ((nan,), {}, ValueError, "finite"),
        ((good,), {"mask": np.ones((2, K))}, TypeError, "bool"),
        ((good,), {"mask": np.ones((2, K + 1), bool)}, ValueError, "mask has shape"),
        ((good,), {"mask": no_arm}, ValueError, "allows no arm in row\\(s\\) \\[1\\]"),
        ((good,), {"penalty": np.full(K, np.inf)}, ValueError, "penalty must be finite"),
        ((good,), {"penalty": np.zeros(K + 2)}, ValueError, "penalty has shape"),
        ((good,), {"rng": 3}, TypeError, "Generator"),
    ]


@pytest.mark.parametrize("policy", _joint_policies(warmup=1), ids=lambda p: p.name)
def test_bad_select_leaves_state_unchanged(policy):
    rng = np.random.default_rng(1)
    _trained(policy, rng, n=5)
    for args, kwargs, exc, msg in _bad_selects():
        before_meta, before_arrays = policy.state_dict()
        with pytest.raises(exc, match=msg):
            policy.select(*args, **kwargs)
        after_meta, after_arrays = policy.state_dict()
        assert after_meta == before_meta
        assert all(np.array_equal(before_arrays[k], after_arrays[k]) for k in before_arrays)


@pytest.mark.parametrize("policy", _joint_policies(), ids=lambda p: p.name)
def test_bad_update_leaves_state_unchanged(policy):
    rng = np.random.default_rng(2)
    _trained(policy, rng, n=5)
    bad = [
        ((np.zeros(D + 1), 0, 1.0), ValueError, "expected \\(6,\\)"),
        ((np.full(D, np.nan), 0, 1.0), ValueError, "finite"),
        ((np.zeros(D), 0, float("nan")), ValueError, "rewards must be finite"),
        ((np.zeros(D), 0, float("inf")), ValueError, "rewards must be finite"),
        ((np.zeros(D), -1, 1.0), IndexError, ">= 0"),
        ((np.zeros(D), 1.5, 1.0), ValueError, "int array"),
    ]
    for args, exc, msg in bad:
        before_meta, before_arrays = policy.state_dict()
        with pytest.raises(exc, match=msg):
            policy.update(*args)
        after_meta, after_arrays = policy.state_dict()
        assert after_meta == before_meta
        assert all(np.array_equal(before_arrays[k], after_arrays[k]) for k in before_arrays)


def test_disjoint_rejects_arm_out_of_range_unchanged():
    pol = DisjointLinUCBPolicy(3, D)
    meta, arrays = pol.state_dict()
    with pytest.raises(IndexError, match="\\[0, 3\\)"):
        pol.update(np.zeros(D), 3, 1.0)
    meta2, arrays2 = pol.state_dict()
    assert meta == meta2 and all(np.array_equal(arrays[k], arrays2[k]) for k in arrays)


@pytest.mark.parametrize(
    "kwargs, exc",
    [
        ({"d": 0}, ValueError),
        ({"d": 4, "alpha": -1.0}, ValueError),
        ({"d": 4, "alpha": float("nan")}, ValueError),
        ({"d": 4, "lam": 0.0}, ValueError),
        ({"d": 4, "gamma": 1.5}, ValueError),
        ({"d": 4, "warmup": -1}, ValueError),
        ({"d": 4, "seed": 1.5}, TypeError),
    ],
)
def test_linucb_constructor_rejects(kwargs, exc):
    with pytest.raises(exc, match="LinUCBPolicy"):
        LinUCBPolicy(**kwargs)


def test_make_policy_unknown_name():
    with pytest.raises(ValueError, match="unknown policy 'ucb2'"):
        make_policy("ucb2", d=3)


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_state_round_trip_continues_identically(name):
    kwargs = {"d": D, "warmup": 3, "seed": 4}
    if name == "disjoint":
        kwargs["n_arms"] = 7
    if name == "fixed":
        kwargs["arm"] = 1
    a = make_policy(name, **kwargs)
    rng = np.random.default_rng(0)
    ctx_query = a.context == "query"

    def step(pol, X):
        s = pol.select(X[:, 0] if ctx_query else X)
        x = X[0, 0] if ctx_query else X[0, s.arms[0]]
        pol.update(x, int(s.arms[0]), float(x[0]))
        return s

    for _ in range(10):
        step(a, rng.normal(size=(1, 7, D)))
    meta, arrays = a.state_dict()
    b = make_policy(name, **kwargs)
    b.load_state_dict(meta, arrays)
    assert _state_equal(a, b)
    for _ in range(10):
        X = rng.normal(size=(1, 7, D))
        sa, sb = step(a, X), step(b, X)
        np.testing.assert_array_equal(sa.arms, sb.arms)
        np.testing.assert_array_equal(sa.scores, sb.scores)


# ------------------------------------------------------------------ planted linear reward
def _planted_stream(seed: int, T: int = 1500, K: int = 12, p: int = 16):
    """Joint features of random queries x one-hot arms; reward linear in x plus noise.

    The per-arm values (0.2 .. 0.8) are all positive, so a greedy learner that never explores
    sticks to the first arm it tried: the classic case where optimism pays.
    """
    rng = np.random.default_rng(seed)
    jf = JointFeaturizer(p, K, proj_dim=3, seed=seed)
    theta = np.zeros((4, K + 1))
    theta[3, :K] = rng.uniform(0.2, 0.8, K)
    theta[:3, :K] = rng.normal(0.0, 0.1, (3, K))
    Phi = rng.normal(size=(T, p)) / np.sqrt(p) * 0.5
    X = jf.combine(jf.transform_query(Phi), jf.arm_block(np.eye(K)))
    mu = X @ theta.ravel()
    return X, mu, rng.normal(0.0, 0.1, T)


def _cumulative_regret(policy, X, mu, noise):
    rng = np.random.default_rng(7)
    regret = np.empty(len(X))
    for t in range(len(X)):
        a = int(policy.select(X[t : t + 1], rng=rng).arms[0])
        policy.update(X[t, a], a, mu[t, a] + noise[t])
        regret[t] = mu[t].max() - mu[t, a]
    return np.cumsum(regret)


@pytest.mark.parametrize("seed", [1, 2])
def test_planted_linear_reward_regret(seed):
    X, mu, noise = _planted_stream(seed)
    d = X.shape[2]
    T = len(X)
    linucb = _cumulative_regret(LinUCBPolicy(d, alpha=0.3), X, mu, noise)
    greedy = _cumulative_regret(GreedyPolicy(d), X, mu, noise)
    rand = _cumulative_regret(RandomPolicy(d), X, mu, noise)
    thompson = _cumulative_regret(LinearThompsonPolicy(d, v=0.1), X, mu, noise)
    q = T // 4
    # Sublinear: the last quarter adds far less regret than the first quarter.
    assert linucb[-1] - linucb[-q - 1] < 0.25 * linucb[q - 1]
    assert thompson[-1] - thompson[-q - 1] < 0.25 * thompson[q - 1]
    # ... while random and the stuck greedy keep paying at a linear rate.
    assert rand[-1] - rand[-q - 1] > 0.7 * rand[q - 1]
    assert linucb[-1] < 0.2 * greedy[-1]
    assert linucb[-1] < 0.2 * rand[-1]
    assert thompson[-1] < 0.2 * rand[-1]


def test_discount_gamma_tracks_a_drifting_best_arm():
    """The best arm changes after a long first phase; with gamma = 1 old evidence pins LinUCB to
    the old best, with gamma < 1 it forgets and follows.

    The discount keeps the ridge prior, so a forgotten arm's width tends to alpha/sqrt(lam), not
    to infinity: re-exploration needs that cap (0.95 here) above the reward gap (0.6)."""
    X = np.eye(5)[None]
    before = np.array([0.8, 0.5, 0.4, 0.3, 0.2])
    after = before[::-1].copy()
    pre, post = 2000, 800

    def late_regret(gamma: float) -> float:
        pol = LinUCBPolicy(5, alpha=0.3, lam=0.1, gamma=gamma)
        rng, noise = np.random.default_rng(1), np.random.default_rng(2)
        regret = 0.0
        for t in range(pre + post):
            mu = before if t < pre else after
            a = int(pol.select(X, rng=rng).arms[0])
            pol.update(X[0, a], a, mu[a] + 0.1 * noise.normal())
            if t >= pre + post // 2:
                regret += mu.max() - mu[a]
        return regret

    stuck, adapted = late_regret(1.0), late_regret(0.98)
    assert stuck > 150.0 and adapted < 0.1 * stuck
