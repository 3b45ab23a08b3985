"""Every bad input raises a clear ValueError/TypeError/IndexError and leaves the state as it was.

Run against the compiled models and the numpy references alike: they share the error contract.
"""

from __future__ import annotations

import numpy as np
import pytest

from uniscale.bandit import DisjointLinUCB, DisjointLinUCBReference, LinUCB, LinUCBReference

D, K, B = 4, 3, 2


def make(cls):
    rng = np.random.default_rng(7)
    if cls in (LinUCB, LinUCBReference):
        model = cls(D, alpha=0.5, gamma=0.9, refresh_every=3)
        model.update(rng.integers(0, K, 10), rng.normal(size=(10, D)), rng.normal(size=10))
    else:
        model = cls(K, D, alpha=0.5, gamma=0.9, refresh_every=3)
        model.update(rng.integers(0, K, 10), rng.normal(size=(10, D)), rng.normal(size=10))
    return model


def shared(cls):
    return cls in (LinUCB, LinUCBReference)


def good_X(cls):
    return np.ones((B, K, D)) if shared(cls) else np.ones((B, D))


def assert_same_state(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], np.ndarray):
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
            assert a[key].dtype == b[key].dtype
        else:
            assert a[key] == b[key], key


BIG_X = r"update: X\[1, 0\] = .* is too large in magnitude, expected \|X\| <= 1e\+100"
BIG_R = r"update: rewards\[3\] = 1e\+155 is too large in magnitude, expected \|rewards\| <= 1e\+100"


def big_at(a, index, value):
    a = np.array(a, dtype=float)
    a[index] = value
    return a


def nan_at(a, index):
    a = np.array(a, dtype=float)
    a[index] = np.nan
    return a


def x_cases(cls):
    """(X, exception, message pattern) for scores and select."""
    X = good_X(cls)
    wrong_ndim = np.ones((B, D)) if shared(cls) else np.ones((B, K, D))
    wrong_d = np.ones(X.shape[:-1] + (D + 1,))
    huge = np.full(X.shape, 1e200)
    inf = X.copy()
    inf[(0,) * X.ndim] = np.inf
    return [
        (wrong_ndim, ValueError, r"X must have shape"),
        (wrong_d, ValueError, rf"X must have shape .*d = {D}.*got"),
        (X.astype(np.complex128), TypeError, r"X must have a real .*complex128"),
        (X.astype(bool), TypeError, r"X must have a real .*bool"),
        (np.array([["a"] * D] * B), TypeError, r"X must have a real"),
        (nan_at(X, (0,) * X.ndim), ValueError, r"X must be finite"),
        (inf, ValueError, r"X must be finite"),
        (
            huge,
            ValueError,
            r"X is too large in magnitude, the float64 scores overflow: max \|X\| = "
            r"1e\+200 at flat index 0; with lam = 1 and d = 4 keep \|X\| <= 1e\+100",
        ),
    ]


ALL = [LinUCB, LinUCBReference, DisjointLinUCB, DisjointLinUCBReference]


@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("method", ["scores", "select"])
def test_bad_X_for_scoring(cls, method):
    model = make(cls)
    before = model.state_dict()
    for X, exc, pattern in x_cases(cls):
        with pytest.raises(exc, match=pattern) as info:
            getattr(model, method)(X)
        assert method in str(info.value), str(info.value)
    assert_same_state(before, model.state_dict())


@pytest.mark.parametrize("cls", ALL)
def test_bad_mask_and_penalty(cls):
    model = make(cls)
    before = model.state_dict()
    X = good_X(cls)
    cases = [
        (dict(mask=np.ones((B, K), int)), TypeError, r"select: mask must have dtype bool"),
        (dict(mask=np.ones((B, K + 1), bool)), ValueError, r"mask must have shape \(B, K\)"),
        (dict(mask=np.ones(K, bool)), ValueError, r"mask must have shape"),
        (dict(mask=np.array([[True] * K, [False] * K])), ValueError, r"mask row 1 allows no arm"),
        (dict(penalty=np.ones(K + 1)), ValueError, r"penalty must have shape"),
        (dict(penalty=np.ones((B + 1, K))), ValueError, r"penalty must have shape"),
        (dict(penalty=np.ones((1, 1, K))), ValueError, r"penalty must have shape"),
        (dict(penalty=nan_at(np.ones(K), 1)), ValueError, r"penalty must be finite"),
        (dict(penalty=np.full(K, np.inf)), ValueError, r"penalty must be finite"),
        (dict(penalty=np.array(["x"] * K)), TypeError, r"penalty must have a real"),
    ]
    for kwargs, exc, pattern in cases:
        with pytest.raises(exc, match=pattern):
            model.select(X, **kwargs)
    assert_same_state(before, model.state_dict())


@pytest.mark.parametrize("cls", ALL)
def test_bad_update_leaves_state_unchanged(cls):
    model = make(cls)
    before = model.state_dict()
    n = 5
    X, r, arms = np.ones((n, D)), np.ones(n), np.zeros(n, np.int64)
    cases = [
        ((arms, np.ones((n, D + 1)), r), ValueError, r"update: X must have shape \(B, d\)"),
        ((arms, np.ones((n, 1, D)), r), ValueError, r"update: X must have shape"),
        ((arms, X, np.ones(n + 1)), ValueError, r"update: rewards must have shape \(B,\)"),
        ((arms, X, np.ones((n, 1))), ValueError, r"update: rewards must have shape"),
        ((np.zeros(n + 1, np.int64), X, r), ValueError, r"update: arms must have shape"),
        ((arms.astype(float), X, r), TypeError, r"update: arms must have an integer dtype"),
        ((arms, X.astype(complex), r), TypeError, r"update: X must have a real"),
        ((arms, X, np.array(["1"] * n)), TypeError, r"update: rewards must have a real"),
        ((np.array([0, 0, -1, 0, 0]), X, r), IndexError, r"update: arms\[2\] = -1 is out of range"),
        ((arms, nan_at(X, (3, 1)), r), ValueError, r"update: X must be finite"),
        ((arms, X, nan_at(r, 4)), ValueError, r"update: rewards must be finite"),
        ((arms, np.where(np.eye(n, D) > 0, np.inf, X), r), ValueError, r"X must be finite"),
        # Finite but beyond the documented bound: x x^T would overflow A.
        ((arms, big_at(X, (1, 0), 1e200), r), ValueError, BIG_X),
        ((arms, big_at(X, (2, 3), -1.5e100), r), ValueError, BIG_X.replace("1, 0", "2, 3")),
        ((arms, X, big_at(r, 3, 1e155)), ValueError, BIG_R),
    ]
    if shared(cls):
        cases += [
            (
                (np.array([0, 0, 1 << 40, 0, 0]), X, r),
                IndexError,
                r"arms\[2\] = 1099511627776 is out of range, expected 0 <= arm < 65536",
            ),
            (
                (np.array([0, 0, 0, 0, 65536]), X, r),
                IndexError,
                r"arms\[4\] = 65536 is out of range, expected 0 <= arm < 65536",
            ),
        ]
    else:
        cases += [
            (
                (np.array([0, 1, K, 0, 0]), X, r),
                IndexError,
                rf"arms\[2\] = {K} is out of range, expected 0 <= arm < {K}",
            ),
            ((None, X, r), TypeError, r"arms must be an integer array, got None"),
        ]
    for args, exc, pattern in cases:
        with pytest.raises(exc, match=pattern):
            model.update(*args)
        assert_same_state(before, model.state_dict())
    # The same batch with valid values does change the state: the checks above could fail.
    model.update(arms, X, r)
    assert model.n_updates == before["n_updates"] + n


@pytest.mark.parametrize("cls", ALL)
def test_bad_hyperparameters(cls):
    lead = (D,) if shared(cls) else (K, D)
    cases = [
        (dict(alpha=-0.1), ValueError, r"alpha must be >= 0"),
        (dict(alpha=float("nan")), ValueError, r"alpha must be finite"),
        (dict(alpha="1"), TypeError, r"alpha must be a real number"),
        (dict(lam=0.0), ValueError, r"lam must be > 0"),
        (dict(lam=-1.0), ValueError, r"lam must be > 0"),
        (dict(gamma=0.0), ValueError, r"gamma must be in \(0, 1\]"),
        (dict(gamma=1.01), ValueError, r"gamma must be in \(0, 1\]"),
        (dict(refresh_every=0), ValueError, r"refresh_every must be >= 1"),
        (dict(refresh_every=2.0), TypeError, r"refresh_every must be an int"),
        (dict(dtype="float16"), ValueError, r"dtype must be 'float64' or 'float32'"),
    ]
    for kwargs, exc, pattern in cases:
        with pytest.raises(exc, match=pattern):
            cls(*lead, **kwargs)
    bad_d = (0,) if shared(cls) else (K, 0)
    with pytest.raises(ValueError, match=r"d must be in \[1, 8192\], got 0"):
        cls(*bad_d)
    # Far too large a d is a ValueError naming d, not a MemoryError from the allocation.
    with pytest.raises(ValueError, match=r"d must be in \[1, 8192\], got 1000000000"):
        cls(*lead[:-1], 10**9)
    with pytest.raises(TypeError, match=r"d must be an int"):
        cls(*lead[:-1], 2.5)
    with pytest.raises(TypeError, match=r"d must be an int"):
        cls(*lead[:-1], True)
    if not shared(cls):
        with pytest.raises(ValueError, match=r"n_arms must be >= 0"):
            cls(-1, D)
    model = make(cls)
    before = model.state_dict()
    for value, exc in [(-1.0, ValueError), (float("inf"), ValueError), (None, TypeError)]:
        with pytest.raises(exc, match="alpha"):
            model.alpha = value
    assert_same_state(before, model.state_dict())
    model.alpha = 2.0
    assert model.alpha == 2.0


@pytest.mark.parametrize("cls", [DisjointLinUCB, DisjointLinUCBReference])
def test_bad_arm_changes(cls):
    model = make(cls)
    before = model.state_dict()
    cases = [
        (lambda: model.add_arms(0), ValueError, r"add_arms: count must be >= 1"),
        (lambda: model.add_arms(1.5), TypeError, r"add_arms: count must be an int"),
        (lambda: model.remove_arms([K]), IndexError, rf"remove_arms: index {K} is out of range"),
        (lambda: model.remove_arms([-1]), IndexError, r"remove_arms: index -1 is out of range"),
        (lambda: model.remove_arms([1, 1]), ValueError, r"indices must not repeat"),
        (lambda: model.remove_arms([0.0]), TypeError, r"indices must have an integer dtype"),
        (lambda: model.remove_arms([[0]]), ValueError, r"indices must be an int or a 1-D"),
    ]
    for call, exc, pattern in cases:
        with pytest.raises(exc, match=pattern):
            call()
    assert_same_state(before, model.state_dict())


@pytest.mark.parametrize("cls", ALL)
def test_huge_values_from_the_report_are_rejected(cls):
    """|x| ~ 1e200 used to put inf into A; later calls then failed far from the cause."""
    model = cls(2) if shared(cls) else cls(1, 2)
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"X\[0, 0\] = 1e\+200 is too large in magnitude"):
        model.update(np.array([0]), np.array([[1e200, 1.0]]), np.array([1.0]))
    with pytest.raises(ValueError, match=r"rewards\[0\] = 1e\+200 is too large in magnitude"):
        model.update(np.array([0]), np.array([[1.0, 1.0]]), np.array([1e200]))
    assert_same_state(before, model.state_dict())
    # At the bound the update goes through and the state stays finite.
    model.update(np.array([0]), np.array([[1e100, 1.0]]), np.array([-1e100]))
    sd = model.state_dict()
    for key in ("A", "A_inv", "b", "theta"):
        assert np.isfinite(sd[key]).all(), key


@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("gamma", [1.0, 0.9])
def test_update_that_would_break_the_model_is_undone(cls, gamma):
    """Values within the bound can still be too large for a tiny lam (A^{-1} = 1e300 I makes
    A^{-1} x overflow; with gamma < 1, A = 1e-300 I + 1e200 x x^T is numerically singular). The
    whole batch is undone, including the good observation that came first."""
    if shared(cls):
        model = cls(2, lam=1e-300, gamma=gamma)
    else:
        model = cls(3, 2, lam=1e-300, gamma=gamma)
    before = model.state_dict()
    X = np.array([[0.3, 0.1], [1e100, 1e100]])
    with pytest.raises(ValueError, match=r"update: X is too large relative to lam.*unchanged"):
        model.update(np.array([2, 0]), X, np.array([1.0, 1e100]))
    assert_same_state(before, model.state_dict())


@pytest.mark.parametrize("cls", ALL)
def test_float32_model_names_out_of_range_X(cls):
    """1e40 does not fit float32: a ValueError saying so, and no RuntimeWarning from a cast
    (pytest turns warnings into errors)."""
    model = cls(D, dtype="float32") if shared(cls) else cls(K, D, dtype="float32")
    X = good_X(cls)
    X[(0,) * X.ndim] = 1e40
    for method in ("scores", "select"):
        with pytest.raises(ValueError, match=r"X is out of float32 range .*got 1e\+40 at flat"):
            getattr(model, method)(X)
    if cls in (LinUCBReference, DisjointLinUCBReference):
        return  # the references score in float64 and only cast the result
    # Within float32 range but too large for float32 scores: the message names the bound.
    X[(0,) * X.ndim] = 1e30
    with pytest.raises(ValueError, match=r"float32 scores overflow: max \|X\| = 1e\+30.*keep"):
        model.scores(X)
