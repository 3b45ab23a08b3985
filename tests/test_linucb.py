"""The compiled LinUCB models against closed forms and the numpy references."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from uniscale import _core
from uniscale.bandit import DisjointLinUCB, DisjointLinUCBReference, LinUCB, LinUCBReference

# Tolerances per scoring dtype: (rtol, atol relative to the scale of the scores).
TOL = {"float64": (1e-12, 1e-12), "float32": (2e-5, 2e-5)}
SHARED = [LinUCB, LinUCBReference]
DISJOINT = [DisjointLinUCB, DisjointLinUCBReference]


def closed_form(X, r, d, lam, gamma):
    """A and b of the discounted ridge regression after observing rows X with rewards r: the
    data is discounted, the prior lam I is not (A = lam I + sum_s gamma^(n-1-s) x_s x_s^T)."""
    n = X.shape[0]
    w = gamma ** (n - 1 - np.arange(n))
    A = lam * np.eye(d) + (X * w[:, None]).T @ X
    b = (X * (w * r)[:, None]).sum(0)
    return A, b


def rel(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300)


@pytest.mark.parametrize("cls", SHARED)
@pytest.mark.parametrize("gamma", [1.0, 0.97])
@pytest.mark.parametrize("d", [1, 5, 16, 17])
@pytest.mark.parametrize("refresh_every", [4096, 37])
def test_shared_matches_closed_form_ridge(cls, gamma, d, refresh_every, rng):
    lam = 0.5
    model = cls(d, lam=lam, gamma=gamma, refresh_every=refresh_every)
    X = rng.normal(size=(300, d))
    r = rng.normal(size=300)
    for lo, hi in [(0, 1), (1, 50), (50, 51), (51, 300)]:  # batches of 1 and many
        model.update(None, X[lo:hi], r[lo:hi])
    A, b = closed_form(X, r, d, lam, gamma)
    assert model.n_updates == 300
    assert rel(model.A, A) < 1e-12
    assert rel(model.b, b) < 1e-12
    assert rel(model.theta, np.linalg.solve(A, b)) < 1e-9
    assert rel(model.A_inv, np.linalg.solve(A, np.eye(d))) < 1e-9


@pytest.mark.parametrize("cls", DISJOINT)
@pytest.mark.parametrize("gamma", [1.0, 0.95])
@pytest.mark.parametrize("d", [3, 16, 20])
def test_disjoint_matches_closed_form_ridge_per_arm(cls, gamma, d, rng):
    K, n, lam = 6, 400, 2.0
    model = cls(K, d, lam=lam, gamma=gamma, refresh_every=29)
    X = rng.normal(size=(n, d))
    r = rng.normal(size=n)
    arms = rng.integers(0, K - 1, size=n)  # the last arm is never observed
    for lo, hi in [(0, 7), (7, 8), (8, 300), (300, n)]:
        model.update(arms[lo:hi], X[lo:hi], r[lo:hi])
    theta, A_inv, counts = model.theta, model.A_inv, model.counts
    for a in range(K):
        A, b = closed_form(X[arms == a], r[arms == a], d, lam, gamma)
        assert counts[a] == (arms == a).sum()
        assert rel(model.A[a], A) < 1e-12
        assert rel(A_inv[a], np.linalg.solve(A, np.eye(d))) < 1e-9
        if a < K - 1:
            assert rel(theta[a], np.linalg.solve(A, b)) < 1e-9
    np.testing.assert_array_equal(theta[K - 1], 0.0)
    np.testing.assert_array_equal(A_inv[K - 1], np.eye(d) / lam)


@pytest.mark.parametrize("cls", SHARED + DISJOINT)
def test_discounting_keeps_the_prior_of_a_dead_feature(cls, rng, tmp_path):
    """gamma < 1 with a feature that is always 0: the prior lam I is not discounted, so A_jj
    stays lam and A^{-1}_jj stays 1 / lam. (Discounting the prior too decayed A_jj to denormals
    after ~71k updates: select then failed with "scores overflow" and load refused the file.)"""
    d, n, lam = 3, 80_000, 1.0
    shared = cls in SHARED
    model = cls(d, lam=lam, gamma=0.99) if shared else cls(2, d, lam=lam, gamma=0.99)
    X = rng.normal(size=(n, d))
    X[:, 2] = 0.0
    r = X[:, 0] - X[:, 1] + 0.1 * rng.normal(size=n)
    arms = np.zeros(n, np.int64)
    for lo in range(0, n, 2000):
        model.update(arms[lo : lo + 2000], X[lo : lo + 2000], r[lo : lo + 2000])
    A, A_inv = (model.A, model.A_inv) if shared else (model.A[0], model.A_inv[0])
    assert A[2, 2] == pytest.approx(lam, rel=1e-12)
    assert A_inv[2, 2] == pytest.approx(1.0 / lam, rel=1e-12)
    np.testing.assert_allclose(A_inv @ A, np.eye(d), atol=1e-12)
    theta = model.theta if shared else model.theta[0]
    np.testing.assert_allclose(theta[:2], [1.0, -1.0], atol=0.1)  # still learning recent data
    Xq = rng.normal(size=(4, 5, d) if shared else (4, d))
    arms_chosen, score = model.select(Xq)
    assert np.isfinite(score).all()
    path = tmp_path / "m.npz"
    model.save(path)
    loaded = cls.load(path)
    np.testing.assert_array_equal(loaded.select(Xq)[0], arms_chosen)


@pytest.mark.parametrize("cls", SHARED)
def test_discounted_update_matches_the_step_rule(cls, rng):
    """One update of gamma (A - lam I) + lam I + x x^T, b <- gamma b + r x, by hand."""
    d, lam, gamma = 4, 0.7, 0.8
    model = cls(d, lam=lam, gamma=gamma)
    X, r = rng.normal(size=(2, d)), rng.normal(size=2)
    model.update(None, X[:1], r[:1])
    A0, b0 = model.A.copy(), model.b.copy()  # the reference hands out its own arrays
    model.update(None, X[1:], r[1:])
    A1 = gamma * (A0 - lam * np.eye(d)) + lam * np.eye(d) + np.outer(X[1], X[1])
    np.testing.assert_allclose(model.A, A1, rtol=1e-14)
    np.testing.assert_allclose(model.b, gamma * b0 + r[1] * X[1], rtol=1e-14)
    np.testing.assert_allclose(model.A_inv, np.linalg.inv(A1), rtol=1e-12)


def _trained_pair(kind, d, K, dtype, rng, n=200):
    if kind == "shared":
        fast = LinUCB(d, alpha=0.8, lam=1.5, gamma=0.99, refresh_every=50, dtype=dtype)
        ref = LinUCBReference(d, alpha=0.8, lam=1.5, gamma=0.99, refresh_every=50, dtype=dtype)
        arms = None
    else:
        fast = DisjointLinUCB(K, d, alpha=0.8, lam=1.5, gamma=0.99, refresh_every=50, dtype=dtype)
        ref = DisjointLinUCBReference(
            K, d, alpha=0.8, lam=1.5, gamma=0.99, refresh_every=50, dtype=dtype
        )
        arms = rng.integers(0, K, size=n)
    X, r = rng.normal(size=(n, d)), rng.normal(size=n)
    fast.update(arms, X, r)
    ref.update(arms, X, r)
    return fast, ref


@pytest.mark.parametrize("kind", ["shared", "disjoint"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "d,K,B", [(1, 1, 1), (7, 3, 5), (16, 168, 1), (17, 9, 33), (64, 20, 70), (33, 130, 3)]
)
def test_scores_and_select_equal_reference(kind, dtype, d, K, B, rng):
    fast, ref = _trained_pair(kind, d, K, dtype, rng)
    for key in ("A", "A_inv", "b", "theta", "counts"):
        np.testing.assert_allclose(
            fast.state_dict()[key], ref.state_dict()[key], rtol=1e-10, atol=1e-12, err_msg=key
        )
    X = rng.normal(size=(B, K, d) if kind == "shared" else (B, d))
    mean, width = fast.scores(X.astype(dtype))
    mean_ref, width_ref = ref.scores(X)
    assert mean.dtype == np.dtype(dtype) and mean.shape == (B, K) and width.shape == (B, K)
    rtol, atol = TOL[dtype]
    scale = np.abs(mean_ref).max() + width_ref.max()
    np.testing.assert_allclose(mean, mean_ref, rtol=rtol, atol=atol * scale)
    np.testing.assert_allclose(width, width_ref, rtol=rtol, atol=atol * scale)
    arms, score = fast.select(X.astype(dtype))
    ucb = mean.astype(np.float64) + fast.alpha * width.astype(np.float64)
    np.testing.assert_array_equal(arms, ucb.argmax(1))
    np.testing.assert_allclose(score, ucb.max(1), rtol=1e-12)
    if dtype == "float64":
        arms_ref, score_ref = ref.select(X)
        np.testing.assert_array_equal(arms, arms_ref)
        np.testing.assert_allclose(score, score_ref, rtol=1e-12)


def test_width_moves_with_alpha_and_data(rng):
    model = LinUCB(4, alpha=1.0)
    X = rng.normal(size=(2, 3, 4))
    m0, w0 = model.scores(X)
    np.testing.assert_allclose(m0, 0.0)
    np.testing.assert_allclose(w0, np.linalg.norm(X, axis=-1), rtol=1e-14)  # A = I
    model.update(None, X[0], np.ones(3))
    m1, w1 = model.scores(X)
    assert (w1[0] < w0[0]).all() and np.abs(m1).max() > 0
    model.alpha = 0.0
    _, s = model.select(X)
    np.testing.assert_allclose(s, m1.max(1), rtol=1e-14)


@pytest.mark.parametrize("cls", [LinUCB, DisjointLinUCB])
def test_many_updates_keep_inverse_accurate(cls, rng):
    d, n, batch = 8, 1_000_000, 50_000
    model = LinUCB(d) if cls is LinUCB else DisjointLinUCB(4, d)
    for _ in range(n // batch):
        X = rng.normal(size=(batch, d))
        arms = None if cls is LinUCB else rng.integers(0, 4, size=batch)
        model.update(arms, X, rng.normal(size=batch))
    assert model.n_updates == n
    A, A_inv = model.A.reshape(-1, d, d), model.A_inv.reshape(-1, d, d)
    for a in range(A.shape[0]):
        assert np.linalg.norm(A_inv[a] @ A[a] - np.eye(d)) < 1e-8


def test_refresh_recomputes_from_A(rng):
    model = LinUCB(6, refresh_every=10**9)
    model.update(None, rng.normal(size=(500, 6)) * 30, rng.normal(size=500))
    model.refresh()
    A = model.A
    np.testing.assert_allclose(model.A_inv, np.linalg.inv(A), rtol=1e-12, atol=1e-18)
    np.testing.assert_array_equal(model.A_inv, model.A_inv.T)
    np.testing.assert_allclose(model.theta, np.linalg.solve(A, model.b), rtol=1e-10)


@pytest.mark.parametrize("cls", SHARED)
def test_ties_go_to_lowest_index_and_mask_and_penalty(cls):
    model = cls(3, alpha=1.0)
    X = np.zeros((2, 5, 3))  # every score is 0: a full tie
    arms, score = model.select(X)
    np.testing.assert_array_equal(arms, [0, 0])
    np.testing.assert_array_equal(score, [0.0, 0.0])
    mask = np.array([[False, False, True, True, True], [False, True, False, True, True]])
    arms, _ = model.select(X, mask=mask)
    np.testing.assert_array_equal(arms, [2, 1])
    penalty = np.array([0.5, 0.1, 0.0, 0.0, 0.2])
    arms, score = model.select(X, penalty=penalty)
    np.testing.assert_array_equal(arms, [2, 2])
    np.testing.assert_array_equal(score, [0.0, 0.0])
    per_row = np.array([[1.0, 1.0, 1.0, 1.0, 0.5], [-1.0, 0.0, 0.0, -2.0, 0.0]])
    arms, score = model.select(X, mask=mask, penalty=per_row)
    np.testing.assert_array_equal(arms, [4, 3])
    np.testing.assert_array_equal(score, [-0.5, 2.0])
    with pytest.raises(ValueError, match="mask row 1 allows no arm"):
        model.select(X, mask=np.array([[True] * 5, [False] * 5]))


@pytest.mark.parametrize("cls", DISJOINT)
def test_disjoint_ties_mask_penalty(cls):
    model = cls(4, 2, alpha=0.0)
    X = np.ones((3, 2))
    np.testing.assert_array_equal(model.select(X)[0], [0, 0, 0])
    model.update([2], [[1.0, 1.0]], [5.0])
    arms, score = model.select(X)
    np.testing.assert_array_equal(arms, [2, 2, 2])
    mask = np.ones((3, 4), bool)
    mask[1, 2] = False
    arms, _ = model.select(X, mask=mask, penalty=[0.0, 0.0, 0.0, -1e-3])
    np.testing.assert_array_equal(arms, [2, 3, 2])


@pytest.mark.parametrize("kind", ["shared", "disjoint"])
def test_empty_batch_and_noncontiguous_input(kind, rng):
    d, K = 6, 5
    model = LinUCB(d) if kind == "shared" else DisjointLinUCB(K, d)
    before = model.state_dict()
    shape = (0, K, d) if kind == "shared" else (0, d)
    mean, width = model.scores(np.zeros(shape))
    assert mean.shape == (0, K) and width.shape == (0, K)
    arms, score = model.select(np.zeros(shape))
    assert arms.shape == (0,) and arms.dtype == np.int64 and score.dtype == np.float64
    model.update(np.zeros(0, np.int64), np.zeros((0, d)), np.zeros(0))
    assert model.n_updates == 0
    np.testing.assert_array_equal(model.A, before["A"])
    big = rng.normal(size=(40, d * 2))
    model.update(np.arange(20) % K, big[::2, ::2], big[1::2, 0])  # strided views
    model.update(
        np.arange(20) % K, np.ascontiguousarray(big[::2, ::2]), np.ascontiguousarray(big[1::2, 0])
    )
    X = rng.normal(size=(K, 3, d * 2) if kind == "shared" else (3, d * 2))
    Xv = X.transpose(1, 0, 2)[..., ::2] if kind == "shared" else X[:, ::2]
    assert not Xv.flags.c_contiguous
    for a, b in zip(model.scores(Xv), model.scores(np.ascontiguousarray(Xv)), strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(model.select(Xv), model.select(np.ascontiguousarray(Xv)), strict=True):
        np.testing.assert_array_equal(a, b)
    Xi = np.ones(Xv.shape, dtype=np.int32)  # integer features are accepted and converted
    np.testing.assert_array_equal(model.scores(Xi)[0], model.scores(Xi.astype(float))[0])


@pytest.mark.parametrize("cls", DISJOINT)
def test_add_and_remove_arms_keep_what_others_learned(cls, rng):
    d = 5
    model = cls(3, d, lam=2.0)
    X = rng.normal(size=(30, d))
    model.update(np.arange(30) % 3, X, rng.normal(size=30))
    before = model.state_dict()
    assert model.add_arms(2) == 3 and model.n_arms == 5
    sd = model.state_dict()
    np.testing.assert_array_equal(sd["theta"][:3], before["theta"])
    np.testing.assert_array_equal(sd["A_inv"][:3], before["A_inv"])
    np.testing.assert_array_equal(sd["A"][3:], np.broadcast_to(2.0 * np.eye(d), (2, d, d)))
    np.testing.assert_array_equal(sd["counts"], [10, 10, 10, 0, 0])
    model.update([4, 4], X[:2], [1.0, 1.0])
    model.remove_arms([1, 3])
    sd2 = model.state_dict()
    assert model.n_arms == 3 and sd2["n_arms"] == 3
    np.testing.assert_array_equal(sd2["theta"][0], before["theta"][0])
    np.testing.assert_array_equal(sd2["theta"][1], before["theta"][2])
    np.testing.assert_array_equal(sd2["counts"], [10, 10, 2])
    assert model.scores(X[:4])[0].shape == (4, 3)
    model.remove_arms(0)
    assert model.n_arms == 2
    model.remove_arms([0, 1])
    assert model.n_arms == 0
    assert model.scores(X[:2])[0].shape == (2, 0)
    with pytest.raises(ValueError, match="no arms"):
        model.select(X[:2])
    assert model.select(X[:0])[0].shape == (0,)


def test_float32_option_and_isa():
    assert _core.isa() in ("avx512", "avx2", "generic")
    assert _core.max_threads() >= 1
    model = LinUCB(8, dtype="float32")
    assert model.dtype == "float32" and model.A.dtype == np.float64
    assert model.scores(np.ones((1, 2, 8)))[0].dtype == np.float32
    assert "float32" in repr(model)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    B=st.integers(0, 6),
    K=st.integers(1, 9),
    d=st.integers(1, 12),
    n=st.integers(0, 40),
    gamma=st.sampled_from([1.0, 0.9]),
    use_mask=st.booleans(),
    penalty_kind=st.sampled_from([None, "row", "all"]),
)
def test_property_shared_select_and_state_match_reference(
    seed, B, K, d, n, gamma, use_mask, penalty_kind
):
    rng = np.random.default_rng(seed)
    fast = LinUCB(d, alpha=0.5, gamma=gamma, refresh_every=7)
    ref = LinUCBReference(d, alpha=0.5, gamma=gamma, refresh_every=7)
    arms = rng.integers(0, K, size=n)
    X, r = rng.normal(size=(n, d)), rng.normal(size=n)
    fast.update(arms, X, r)
    ref.update(arms, X, r)
    for key in ("A", "A_inv", "b", "theta", "counts"):
        np.testing.assert_allclose(
            fast.state_dict()[key], ref.state_dict()[key], rtol=1e-9, atol=1e-12
        )
    Xq = rng.normal(size=(B, K, d))
    mask = None
    if use_mask:
        mask = rng.random((B, K)) < 0.5
        mask[np.arange(B), rng.integers(0, K, size=B)] = True
    penalty = {None: None, "row": rng.random(K), "all": rng.random((B, K))}[penalty_kind]
    a_fast, s_fast = fast.select(Xq, mask=mask, penalty=penalty)
    a_ref, s_ref = ref.select(Xq, mask=mask, penalty=penalty)
    np.testing.assert_allclose(s_fast, s_ref, rtol=1e-9, atol=1e-12)
    # Arms agree unless two scores are within rounding of each other.
    mean, width = ref.scores(Xq)
    ucb = mean + 0.5 * width - (0 if penalty is None else penalty)
    if mask is not None:
        ucb = np.where(mask, ucb, -np.inf)
    gap = np.sort(ucb, axis=1)[:, -2:] if K > 1 else None
    for i in range(B):
        if gap is None or gap[i, 1] - gap[i, 0] > 1e-9:
            assert a_fast[i] == a_ref[i]
        if mask is not None:
            assert mask[i, a_fast[i]]


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    B=st.integers(0, 5),
    K=st.integers(1, 12),
    d=st.integers(1, 10),
    n=st.integers(0, 60),
)
def test_property_disjoint_matches_reference(seed, B, K, d, n):
    rng = np.random.default_rng(seed)
    fast = DisjointLinUCB(K, d, alpha=1.3, refresh_every=5)
    ref = DisjointLinUCBReference(K, d, alpha=1.3, refresh_every=5)
    arms = rng.integers(0, K, size=n)
    X, r = rng.normal(size=(n, d)), rng.normal(size=n)
    fast.update(arms, X, r)
    ref.update(arms, X, r)
    Xq = rng.normal(size=(B, d))
    for a, b in zip(fast.scores(Xq), ref.scores(Xq), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(fast.counts, ref.counts)


_ISA_SCRIPT = """
import numpy as np
from uniscale import _core
from uniscale.bandit import DisjointLinUCB, DisjointLinUCBReference, LinUCB, LinUCBReference
print(_core.isa())
rng = np.random.default_rng(3)
for d in (1, 5, 16, 33, 64):
    for dtype, rtol in (("float64", 1e-11), ("float32", 1e-4)):
        for fast, ref, shape in (
            (LinUCB(d, dtype=dtype), LinUCBReference(d), (3, 11, d)),
            (DisjointLinUCB(7, d, dtype=dtype), DisjointLinUCBReference(7, d), (13, d)),
            (DisjointLinUCB(7, d, dtype=dtype), DisjointLinUCBReference(7, d), (3, d)),
        ):
            arms = rng.integers(0, 7, 40)
            X, r = rng.normal(size=(40, d)), rng.normal(size=40)
            fast.update(arms, X, r)
            ref.update(arms, X, r)
            Xq = rng.normal(size=shape)
            for a, b in zip(fast.scores(Xq.astype(dtype)), ref.scores(Xq), strict=True):
                np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol)
            np.testing.assert_allclose(fast.A_inv, ref.A_inv, rtol=1e-10, atol=1e-13)
print("ok")
"""


@pytest.mark.parametrize("isa", ["generic", "avx2", "avx512"])
def test_every_instruction_set_agrees_with_reference(isa):
    """Each kernel build, forced through UNISCALE_ISA in a fresh process, matches the reference."""
    env = {**os.environ, "UNISCALE_ISA": isa}
    out = subprocess.run(
        [sys.executable, "-c", _ISA_SCRIPT], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    got, status = out.stdout.split()
    if got != isa:
        pytest.skip(f"this CPU or build has no {isa} kernels (fell back to {got})")
    assert status == "ok"
