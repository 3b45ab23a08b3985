"""uniscale.aggregate: semantics of the numpy references, the torch backend against them, the
dispatch layer, validation at the boundary and canonical_ids. The Triton kernels are tested in
test_aggregate_triton.py."""

from __future__ import annotations

import logging
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import uniscale.aggregate as agg
from uniscale.aggregate import ops
from uniscale.errors import BackendUnavailableError

torch = pytest.importorskip("torch")

REPO = Path(__file__).resolve().parents[1]

# All backends accumulate in float64, so tolerances only absorb a different order of additions.
FLOAT_TOL = {
    "float16": {"rtol": 1e-12, "atol": 1e-12},
    "bfloat16": {"rtol": 1e-12, "atol": 1e-12},
    "float32": {"rtol": 1e-12, "atol": 1e-12},
    "float64": {"rtol": 1e-12, "atol": 1e-12},
}


# ---------------------------------------------------------------- plain Python loop oracles


def loop_majority(ids, valid=None):
    winners, counts, agreements = [], [], []
    for r, row in enumerate(ids):
        tally: dict[int, int] = {}
        n_valid = 0
        for j, a in enumerate(row):
            if a < 0 or (valid is not None and not valid[r][j]):
                continue
            n_valid += 1
            tally[int(a)] = tally.get(int(a), 0) + 1
        if not tally:
            winners.append(-1), counts.append(0), agreements.append(0.0)
            continue
        best = max(tally, key=tally.__getitem__)  # first maximal in insertion order
        winners.append(best), counts.append(tally[best]), agreements.append(tally[best] / n_valid)
    return winners, counts, agreements


def loop_weighted(ids, weights):
    winners, totals, shares = [], [], []
    for row, wrow in zip(ids, weights, strict=True):
        tally: dict[int, float] = {}
        total = 0.0
        for a, w in zip(row, wrow, strict=True):
            if a < 0 or math.isnan(w):
                continue
            tally[int(a)] = tally.get(int(a), 0.0) + float(w)
            total += float(w)
        if not tally:
            winners.append(-1), totals.append(0.0), shares.append(0.0)
            continue
        best = max(tally, key=tally.__getitem__)
        winners.append(best), totals.append(tally[best])
        shares.append(tally[best] / total if total > 0 else 0.0)
    return winners, totals, shares


def loop_best(scores, valid=None):
    indices, values = [], []
    for r, row in enumerate(scores):
        bi, bv = -1, math.nan
        for j, s in enumerate(row):
            if math.isnan(s) or (valid is not None and not valid[r][j]):
                continue
            if bi < 0 or s > bv:
                bi, bv = j, float(s)
        indices.append(bi), values.append(bv)
    return indices, values


def loop_prm(steps, offsets, mode):
    out = []
    for i in range(len(offsets) - 1):
        xs = [float(v) for v in steps[offsets[i] : offsets[i + 1]]]
        if not xs:
            out.append(math.nan)
        elif mode == "last":
            out.append(xs[-1])
        elif any(math.isnan(v) for v in xs):
            out.append(math.nan)
        elif mode == "min":
            out.append(min(xs))
        elif mode == "mean":
            out.append(sum(xs) / len(xs))
        elif mode == "prod":
            out.append(math.prod(xs))
        else:
            out.append(sum(-math.inf if v == 0 else math.log(v) for v in xs))
    return out


# ---------------------------------------------------------------- hypothesis: references vs loops

ID_ROWS = hnp.arrays(
    np.int64,
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=0, max_side=9),
    elements=st.integers(-1, 4),
)
DYADIC = st.sampled_from([0.0, 0.25, 0.5, 1.0, 2.0, 3.5, math.nan])


@settings(max_examples=150, deadline=None)
@given(ids=ID_ROWS, data=st.data())
def test_majority_reference_matches_loop(ids, data):
    valid = data.draw(st.none() | hnp.arrays(np.bool_, ids.shape))
    got = agg.majority_vote_reference(ids, valid)
    winners, counts, agreements = loop_majority(ids.tolist(), None if valid is None else valid)
    np.testing.assert_array_equal(got.winner, winners)
    np.testing.assert_array_equal(got.count, counts)
    np.testing.assert_allclose(got.agreement, agreements, rtol=1e-15)


@settings(max_examples=150, deadline=None)
@given(ids=ID_ROWS, data=st.data())
def test_weighted_reference_matches_loop(ids, data):
    # dyadic weights: every sum is exact, so the winner is defined independently of order
    weights = data.draw(hnp.arrays(np.float64, ids.shape, elements=DYADIC))
    got = agg.weighted_vote_reference(ids, weights)
    winners, totals, shares = loop_weighted(ids.tolist(), weights.tolist())
    np.testing.assert_array_equal(got.winner, winners)
    np.testing.assert_array_equal(got.weight, totals)
    np.testing.assert_allclose(got.share, shares, rtol=1e-15)


@settings(max_examples=150, deadline=None)
@given(
    scores=hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=0, max_side=9),
        elements=st.sampled_from([-math.inf, -1.0, 0.0, 0.5, 2.0, math.inf, math.nan]),
    ),
    data=st.data(),
)
def test_best_reference_matches_loop(scores, data):
    valid = data.draw(st.none() | hnp.arrays(np.bool_, scores.shape))
    got = agg.best_of_n_reference(scores, valid)
    indices, values = loop_best(scores.tolist(), valid)
    np.testing.assert_array_equal(got.index, indices)
    np.testing.assert_array_equal(got.score, values)  # NaN == NaN for assert_array_equal


@settings(max_examples=150, deadline=None)
@given(
    lengths=st.lists(st.integers(0, 5), max_size=8),
    mode=st.sampled_from(agg.PRM_MODES),
    data=st.data(),
)
def test_prm_reference_matches_loop(lengths, mode, data):
    offsets = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)]).astype(np.int64)
    steps = data.draw(
        hnp.arrays(
            np.float64,
            int(offsets[-1]),
            elements=st.sampled_from([0.0, 0.125, 0.5, 0.75, 1.0, math.nan]),
        )
    )
    got = agg.prm_reduce_reference(steps, offsets, mode)
    np.testing.assert_allclose(got, loop_prm(steps.tolist(), offsets, mode), rtol=1e-14)


# ---------------------------------------------------------------- documented semantics


def test_majority_tie_goes_to_first_appearance():
    ids = np.array([[5, 3, 3, 5, 7], [2, 9, 9, 2, -1], [4, 4, 1, 1, 1]])
    r = agg.majority_vote(ids)
    np.testing.assert_array_equal(r.winner, [5, 2, 1])
    np.testing.assert_array_equal(r.count, [2, 2, 3])
    np.testing.assert_allclose(r.agreement, [0.4, 0.5, 0.6])


def test_sentinels_for_rows_with_nothing_valid():
    ids = np.array([[-1, -1, -1], [1, 2, 2]])
    valid = np.array([[True, True, True], [False, False, False]])
    r = agg.majority_vote(ids, valid)
    np.testing.assert_array_equal(r.winner, [-1, -1])
    np.testing.assert_array_equal(r.count, [0, 0])
    np.testing.assert_array_equal(r.agreement, [0.0, 0.0])
    w = agg.weighted_vote(ids, np.array([[1.0, 1.0, 1.0], [np.nan, np.nan, np.nan]]))
    np.testing.assert_array_equal(w.winner, [-1, -1])
    np.testing.assert_array_equal(w.weight, [0.0, 0.0])
    np.testing.assert_array_equal(w.share, [0.0, 0.0])
    b = agg.best_of_n(np.array([[np.nan, np.nan], [1.0, 2.0]]), np.array([[1, 1], [0, 0]], bool))
    np.testing.assert_array_equal(b.index, [-1, -1])
    assert np.isnan(b.score).all()


def test_weighted_vote_all_zero_weights_gives_first_valid_answer():
    r = agg.weighted_vote(np.array([[-1, 4, 2, 2]]), np.array([[1.0, 0.0, 0.0, 0.0]]))
    assert (r.winner[0], r.weight[0], r.share[0]) == (4, 0.0, 0.0)


def test_weighted_vote_ties_go_to_first_appearance_and_weights_matter():
    ids = np.array([[1, 2, 2, 1]])
    r = agg.weighted_vote(ids, np.array([[0.5, 0.25, 0.25, 0.0]]))
    assert r.winner[0] == 1 and r.weight[0] == 0.5 and r.share[0] == 0.5
    r = agg.weighted_vote(ids, np.array([[0.5, 0.25, 0.5, 0.0]]))
    assert r.winner[0] == 2 and r.weight[0] == 0.75


def test_best_of_n_neg_inf_is_valid_nan_is_missing():
    scores = np.array([[np.nan, -np.inf, -np.inf], [-np.inf, np.nan, -5.0], [np.inf, 1.0, np.inf]])
    r = agg.best_of_n(scores)
    np.testing.assert_array_equal(r.index, [1, 2, 0])
    np.testing.assert_array_equal(r.score, [-np.inf, -5.0, np.inf])


def test_best_of_n_keeps_dtype_and_ties_to_lowest_index():
    r = agg.best_of_n(np.array([[0.5, 0.75, 0.75]], dtype=np.float16))
    assert r.score.dtype == np.float16 and r.index[0] == 1


def test_prm_modes_on_a_small_example():
    steps = np.array([0.5, 0.25, 1.0, 0.0, 0.8], dtype=np.float32)
    offsets = np.array([0, 2, 2, 3, 5])
    expect = {
        "min": [0.25, np.nan, 1.0, 0.0],
        "last": [0.25, np.nan, 1.0, 0.8],
        "mean": [0.375, np.nan, 1.0, 0.4],
        "prod": [0.125, np.nan, 1.0, 0.0],
        "sum_log": [math.log(0.125), np.nan, 0.0, -np.inf],
    }
    for mode, want in expect.items():
        got = agg.prm_reduce(steps, offsets, mode)
        assert got.dtype == np.float64 and got.shape == (4,)
        np.testing.assert_allclose(got, np.array(want, np.float64), rtol=1e-6, err_msg=mode)


def test_prm_empty_offsets_and_nan_steps():
    assert agg.prm_reduce(np.zeros(0), np.array([0]), "mean").shape == (0,)
    assert np.isnan(agg.prm_reduce(np.zeros(0), np.array([0, 0, 0]), "prod")).all()
    got = agg.prm_reduce(np.array([0.5, np.nan, 0.5, np.nan]), np.array([0, 2, 4]), "last")
    np.testing.assert_array_equal(got, [np.nan, np.nan])
    got = agg.prm_reduce(np.array([np.nan, 0.5]), np.array([0, 2]), "last")
    np.testing.assert_array_equal(got, [0.5])
    assert np.isnan(agg.prm_reduce(np.array([np.nan, 0.5]), np.array([0, 2]), "min")).all()


def test_one_dimensional_input_is_one_row():
    r = agg.majority_vote(np.array([3, 1, 1]))
    assert r.winner == 1 and r.count == 2 and np.ndim(r.winner) == 0
    b = agg.best_of_n(torch.tensor([0.1, 0.9, 0.3]))
    assert b.index.ndim == 0 and int(b.index) == 1


def test_empty_batches_and_zero_candidates():
    for backend in ("numpy", "torch"):
        r = agg.majority_vote(np.zeros((0, 5), np.int64), backend=backend)
        assert r.winner.shape == (0,)
        r = agg.majority_vote(np.zeros((3, 0), np.int64), backend=backend)
        np.testing.assert_array_equal(r.winner, [-1, -1, -1])
        b = agg.best_of_n(np.zeros((2, 0)), backend=backend)
        np.testing.assert_array_equal(b.index, [-1, -1])


def test_output_moves_when_an_input_that_matters_moves():
    ids = np.array([[1, 1, 2, 2, 3]])
    assert agg.majority_vote(ids).winner[0] == 1
    ids[0, 4] = 2
    assert agg.majority_vote(ids).winner[0] == 2
    valid = np.array([[True, True, False, False, True]])
    assert agg.majority_vote(ids, valid).winner[0] == 1
    w = np.array([[0.1, 0.1, 0.1, 0.1, 0.1]])
    assert agg.weighted_vote(ids, w).winner[0] == 2
    w[0, 0] = 5.0
    assert agg.weighted_vote(ids, w).winner[0] == 1
    s = np.array([[0.1, 0.2, 0.3]])
    assert agg.best_of_n(s).index[0] == 2
    s[0, 0] = 0.9
    assert agg.best_of_n(s).index[0] == 0
    steps, off = np.array([0.5, 0.6, 0.7]), np.array([0, 3])
    before = agg.prm_reduce(steps, off, "min")[0]
    steps[1] = 0.1
    assert agg.prm_reduce(steps, off, "min")[0] == 0.1 != before


# ---------------------------------------------------------------- torch backend vs reference


def _vote_case(rng, b, n, n_answers, dtype):
    ids = rng.integers(-1, n_answers, size=(b, n)).astype(dtype)
    valid = rng.random((b, n)) > 0.15
    return ids, valid


@pytest.mark.parametrize("b,n", [(1, 1), (3, 5), (17, 33), (64, 64), (5, 257)])
@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_torch_votes_match_reference(rng, b, n, dtype):
    ids, valid = _vote_case(rng, b, n, 4, dtype)
    ids[0] = 7  # one row of all ties of a single answer
    for v in (None, valid):
        ref = agg.majority_vote(ids, v, backend="numpy")
        got = agg.majority_vote(
            torch.from_numpy(ids), None if v is None else torch.from_numpy(v), backend="torch"
        )
        np.testing.assert_array_equal(got.winner.numpy(), ref.winner)
        np.testing.assert_array_equal(got.count.numpy(), ref.count)
        np.testing.assert_allclose(got.agreement.numpy(), ref.agreement, rtol=1e-15)
    weights = rng.choice([0.0, 0.25, 0.5, 1.0, np.nan], size=(b, n))
    ref = agg.weighted_vote(ids, weights, backend="numpy")
    got = agg.weighted_vote(torch.from_numpy(ids), torch.from_numpy(weights), backend="torch")
    np.testing.assert_array_equal(got.winner.numpy(), ref.winner)
    np.testing.assert_array_equal(got.weight.numpy(), ref.weight)
    np.testing.assert_allclose(got.share.numpy(), ref.share, rtol=1e-15)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_torch_weighted_vote_random_weights(rng, dtype):
    ids = rng.integers(-1, 6, size=(50, 40))
    w = torch.from_numpy(rng.random((50, 40))).to(getattr(torch, dtype))
    ref = agg.weighted_vote(ids, w.to(torch.float64).numpy(), backend="numpy")
    got = agg.weighted_vote(torch.from_numpy(ids), w, backend="torch")
    np.testing.assert_array_equal(got.winner.numpy(), ref.winner)
    np.testing.assert_allclose(got.weight.numpy(), ref.weight, **FLOAT_TOL[dtype])
    np.testing.assert_allclose(got.share.numpy(), ref.share, **FLOAT_TOL[dtype])


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
@pytest.mark.parametrize("b,n", [(1, 1), (7, 3), (33, 64), (4, 129)])
def test_torch_best_of_n_matches_reference(rng, dtype, b, n):
    s = rng.choice([-np.inf, -1.0, 0.0, 0.5, 1.0, np.nan], size=(b, n))
    s[0] = np.nan
    if b > 1:
        s[1] = -np.inf
    t = torch.from_numpy(s).to(getattr(torch, dtype))
    valid = torch.from_numpy(rng.random((b, n)) > 0.1)
    for v in (None, valid):
        ref = agg.best_of_n(t, v, backend="numpy")
        got = agg.best_of_n(t, v, backend="torch")
        assert got.score.dtype == t.dtype
        np.testing.assert_array_equal(got.index.numpy(), ref.index.numpy())
        np.testing.assert_array_equal(
            got.score.to(torch.float64).numpy(), ref.score.to(torch.float64).numpy()
        )


@pytest.mark.parametrize("mode", agg.PRM_MODES)
@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_torch_prm_matches_reference(rng, mode, dtype):
    lengths = rng.integers(0, 7, size=40)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    steps = rng.random(int(offsets[-1]))
    steps[rng.random(steps.size) < 0.05] = np.nan
    steps[rng.random(steps.size) < 0.05] = 0.0
    t = torch.from_numpy(steps).to(getattr(torch, dtype))
    ref = agg.prm_reduce(t, offsets, mode, backend="numpy")
    got = agg.prm_reduce(t, torch.from_numpy(offsets), mode, backend="torch")
    assert got.dtype == torch.float64
    np.testing.assert_allclose(got.numpy(), ref.numpy(), **FLOAT_TOL[dtype])


# ---------------------------------------------------------------- inputs are never modified


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_inputs_are_not_modified(rng, backend):
    ids = rng.integers(-1, 3, size=(6, 9))
    valid = rng.random((6, 9)) > 0.3
    w = rng.random((6, 9))
    s = rng.random((6, 9))
    steps, off = rng.random(10), np.array([0, 4, 4, 10])
    arrays = (ids, valid, w, s, steps, off)
    copies = [a.copy() for a in arrays]
    for a in arrays:
        a.setflags(write=False)  # a write would raise
    agg.majority_vote(ids, valid, backend=backend)
    agg.weighted_vote(ids, w, backend=backend)
    agg.best_of_n(s, valid, backend=backend)
    for mode in agg.PRM_MODES:
        agg.prm_reduce(steps, off, mode, backend=backend)
    for a, c in zip(arrays, copies, strict=True):
        np.testing.assert_array_equal(a, c)
    tensors = [torch.from_numpy(c.copy()) for c in copies]
    before = [t.clone() for t in tensors]
    agg.majority_vote(tensors[0], tensors[1], backend=backend)
    agg.weighted_vote(tensors[0], tensors[2], backend=backend)
    agg.best_of_n(tensors[3], tensors[1], backend=backend)
    agg.prm_reduce(tensors[4], tensors[5], "mean", backend=backend)
    for t, c in zip(tensors, before, strict=True):
        assert torch.equal(t, c)


def test_non_contiguous_and_negative_strides(rng):
    ids = rng.integers(0, 3, size=(9, 12))
    view = ids.T[::-1]  # (12, 9), negative stride
    ref = agg.majority_vote(np.ascontiguousarray(view), backend="numpy")
    for backend in ("numpy", "torch"):
        got = agg.majority_vote(view, backend=backend)
        np.testing.assert_array_equal(got.winner, ref.winner)
    got = agg.majority_vote(torch.from_numpy(ids).T, backend="torch")
    np.testing.assert_array_equal(got.winner.numpy(), agg.majority_vote(ids.T.copy()).winner)


# ---------------------------------------------------------------- kinds, dtypes and dispatch


def test_numpy_in_numpy_out_torch_in_torch_out():
    ids = np.array([[1, 2, 2]])
    for backend in ("numpy", "torch"):
        r = agg.majority_vote(ids, backend=backend)
        assert all(isinstance(f, np.ndarray) for f in r)
        assert (r.winner.dtype, r.count.dtype, r.agreement.dtype) == (
            np.int64,
            np.int64,
            np.float64,
        )
        t = agg.majority_vote(torch.from_numpy(ids).to(torch.int32), backend=backend)
        assert (t.winner.dtype, t.count.dtype, t.agreement.dtype) == (
            torch.int64,
            torch.int64,
            torch.float64,
        )
    p = agg.prm_reduce([0.5, 0.5], [0, 2], "prod")
    assert isinstance(p, np.ndarray) and p[0] == 0.25


def test_explicit_triton_without_cuda_or_interpreter_raises(monkeypatch):
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    with pytest.raises(BackendUnavailableError, match="best_of_n: backend='triton' cannot run"):
        agg.best_of_n(torch.zeros((2, 3)), backend="triton")


def test_explicit_torch_without_torch_raises(monkeypatch):
    real = ops.importlib.util.find_spec
    monkeypatch.setattr(
        ops.importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name)
    )
    with pytest.raises(BackendUnavailableError, match="needs torch, which is not installed"):
        agg.majority_vote(np.array([[1]]), backend="torch")


def test_auto_falls_back_and_logs_the_reason_once(monkeypatch, caplog):
    class FakeCudaTensor:
        class device:  # noqa: N801 - mimics torch.Tensor.device
            type = "cuda"

    from uniscale.aggregate import triton_backend

    monkeypatch.setattr(ops, "is_torch_tensor", lambda x: isinstance(x, FakeCudaTensor))
    monkeypatch.setattr(triton_backend, "unavailable_reason", lambda device: "no triton (test)")
    monkeypatch.setattr(ops, "_fallbacks_logged", set())
    with caplog.at_level(logging.WARNING, logger="uniscale.aggregate.ops"):
        assert ops._choose("best_of_n", "auto", FakeCudaTensor()) == "torch"
        assert ops._choose("best_of_n", "auto", FakeCudaTensor()) == "torch"
    records = [r for r in caplog.records if "no triton (test)" in r.getMessage()]
    assert len(records) == 1


def test_auto_choice_by_input_kind():
    assert ops._choose("op", "auto", np.zeros((1, 1))) == "numpy"
    # CPU tensors go to the numpy references through zero-copy views: faster than torch on CPU
    assert ops._choose("op", "auto", torch.zeros((1, 1))) == "numpy"
    r = agg.best_of_n(torch.tensor([[0.25, 0.5]], dtype=torch.bfloat16))
    assert r.score.dtype == torch.bfloat16 and float(r.score[0]) == 0.5


def test_import_does_not_load_torch_or_triton():
    code = (
        "import sys, uniscale, uniscale.aggregate\n"
        "uniscale.aggregate.majority_vote([[1, 2, 2]])\n"
        "print(sorted(m for m in ('torch', 'triton') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(REPO / "python"), "PATH": "/usr/bin:/bin"},
    )
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------- validation at the boundary


@pytest.mark.parametrize(
    "call, exc, message",
    [
        (
            lambda: agg.majority_vote(np.zeros((2, 3))),
            TypeError,
            r"majority_vote: answer_ids must have dtype int32 or int64; got float64",
        ),
        (lambda: agg.majority_vote(np.zeros((2, 3), bool)), TypeError, r"got bool"),
        (
            lambda: agg.majority_vote(np.zeros((2, 3, 4), np.int64)),
            ValueError,
            r"majority_vote: answer_ids must have shape \(B, N\) or \(N,\); got 3 dimensions",
        ),
        (
            lambda: agg.majority_vote(np.zeros((2, 3), np.int64), np.ones((3, 2), bool)),
            ValueError,
            r"majority_vote: valid must have the shape of answer_ids \(2, 3\); got \(3, 2\)",
        ),
        (
            lambda: agg.majority_vote(np.zeros((2, 3), np.int64), np.ones((2, 3))),
            TypeError,
            r"majority_vote: valid must have dtype bool; got float64",
        ),
        (
            lambda: agg.majority_vote(np.zeros((1, 4097), np.int64)),
            ValueError,
            r"majority_vote: answer_ids has 4097 candidates per row; at most MAX_CANDIDATES=4096",
        ),
        (
            lambda: agg.majority_vote(np.broadcast_to(np.zeros((1, 2), np.int64), (2**31, 2))),
            ValueError,
            r"answer_ids has 2147483648 rows; at most MAX_ROWS=2147483647",
        ),
        (
            lambda: agg.majority_vote(np.zeros((1, 2), np.int64), backend="cuda"),
            ValueError,
            r"majority_vote: backend must be one of auto, numpy, torch, triton; got 'cuda'",
        ),
        (
            lambda: agg.majority_vote(
                torch.zeros((1, 2), dtype=torch.int64), np.ones((1, 2), bool)
            ),
            TypeError,
            r"majority_vote: valid is a numpy.ndarray but answer_ids is a torch.Tensor",
        ),
        (
            lambda: agg.majority_vote([[1, 2], [3]]),
            TypeError,
            r"majority_vote: answer_ids must be a numpy.ndarray, a torch.Tensor or a rectangular",
        ),
        (
            lambda: agg.weighted_vote(np.zeros((1, 2), np.int64), np.array([[0.5, -0.1]])),
            ValueError,
            r"weighted_vote: weights must be finite and >= 0, or NaN .*-0.1 at \(0, 1\)",
        ),
        (
            lambda: agg.weighted_vote(np.zeros((1, 2), np.int64), np.array([[np.inf, 1.0]])),
            ValueError,
            r"weighted_vote: weights must be finite .*got inf at \(0, 0\)",
        ),
        (
            lambda: agg.weighted_vote(np.zeros((1, 2), np.int64), np.ones((1, 2), np.int64)),
            TypeError,
            r"weighted_vote: weights must have dtype float16/float32/float64; got int64",
        ),
        (
            lambda: agg.weighted_vote(np.zeros((1, 2), np.int64), np.ones((1, 3))),
            ValueError,
            r"weights must have the shape of answer_ids \(1, 2\); got \(1, 3\)",
        ),
        (
            lambda: agg.best_of_n(np.zeros((2, 2), np.int32)),
            TypeError,
            r"best_of_n: scores must have dtype float16/float32/float64; got int32",
        ),
        (
            lambda: agg.best_of_n(torch.zeros((2, 2), dtype=torch.int32)),
            TypeError,
            r"best_of_n: scores must have dtype float16/bfloat16/float32/float64; got int32",
        ),
        (
            lambda: agg.prm_reduce(np.zeros((2, 2)), np.array([0, 4]), "min"),
            ValueError,
            r"prm_reduce: step_scores must have shape \(S,\); got \(2, 2\)",
        ),
        (
            lambda: agg.prm_reduce(np.zeros(3), np.array([0, 3]), "max"),
            ValueError,
            r"prm_reduce: mode must be one of min, last, mean, prod, sum_log; got 'max'",
        ),
        (
            lambda: agg.prm_reduce(np.zeros(3), np.array([1, 3]), "min"),
            ValueError,
            r"prm_reduce: offsets\[0\] must be 0; got 1",
        ),
        (
            lambda: agg.prm_reduce(np.zeros(3), np.array([0, 2, 1, 3]), "min"),
            ValueError,
            r"prm_reduce: offsets must be non-decreasing; got offsets\[1\]=2 > offsets\[2\]=1",
        ),
        (
            lambda: agg.prm_reduce(np.zeros(3), np.array([0, 2]), "min"),
            ValueError,
            r"prm_reduce: offsets\[-1\] must equal len\(step_scores\)=3; got 2",
        ),
        (
            lambda: agg.prm_reduce(np.zeros(3), np.array([0.0, 3.0]), "min"),
            TypeError,
            r"prm_reduce: offsets must have dtype int32 or int64; got float64",
        ),
        (
            lambda: agg.prm_reduce(np.zeros(3), np.zeros((0,), np.int64), "min"),
            ValueError,
            r"prm_reduce: offsets must have shape \(n_candidates \+ 1,\)",
        ),
        (
            lambda: agg.prm_reduce(np.array([0.5, -0.5]), np.array([0, 2]), "sum_log"),
            ValueError,
            r"prm_reduce: step_scores must be >= 0 for mode='sum_log'.*got -0.5 at \(1,\)",
        ),
    ],
)
def test_bad_input_raises_with_a_helpful_message(call, exc, message):
    with pytest.raises(exc, match=message):
        call()


def test_negative_step_scores_are_fine_outside_sum_log():
    got = agg.prm_reduce(np.array([-0.5, 2.0]), np.array([0, 2]), "min")
    np.testing.assert_array_equal(got, [-0.5])


# ---------------------------------------------------------------- canonical_ids


def test_canonical_ids_exact_in_order_of_first_appearance():
    ids = agg.canonical_ids(["b", "a", None, "b", "c", "a", " a"])
    assert ids.dtype == np.int64
    np.testing.assert_array_equal(ids, [0, 1, -1, 0, 2, 1, 3])


def test_canonical_ids_numeric():
    answers = ["0.5", "1/2", ".5", "5e-1", "1,000", "1000.0", "+1000", "x", " x ", "1,2", None]
    np.testing.assert_array_equal(
        agg.canonical_ids(answers, "numeric"), [0, 0, 0, 0, 1, 1, 1, 2, 2, 3, -1]
    )


def test_canonical_ids_numeric_huge_exponents_stay_text():
    answers = ["1e999999999", "1e999999999", "1E+999999999", "2e3", "2000"]
    np.testing.assert_array_equal(agg.canonical_ids(answers, "numeric"), [0, 0, 1, 2, 2])


def test_canonical_ids_callable_and_votes_together():
    calls = []

    def same_letter(a: str, b: str) -> bool:
        calls.append((a, b))
        return a[0] == b[0]

    ids = agg.canonical_ids(["apple", "avocado", "banana", "apple", None, "berry"], same_letter)
    np.testing.assert_array_equal(ids, [0, 0, 1, 0, -1, 1])
    assert ("apple", "apple") not in calls  # identical text needs no call
    assert agg.majority_vote(ids).winner == 0


def test_canonical_ids_empty_and_all_none():
    assert agg.canonical_ids([]).shape == (0,)
    np.testing.assert_array_equal(agg.canonical_ids([None, None]), [-1, -1])


@pytest.mark.parametrize(
    "answers, equivalent, exc, message",
    [
        ("42", "exact", TypeError, r"canonical_ids: answers must be a sequence of str or None"),
        (["1", 2], "exact", TypeError, r"canonical_ids: answers\[1\] must be str or None; got int"),
        (["1"], "fuzzy", ValueError, r"equivalent must be 'exact', 'numeric' or a callable"),
        (["1"], 3, TypeError, r"equivalent must be 'exact', 'numeric' or a callable; got int"),
        (["1", "2"], lambda a, b: 1, TypeError, r"must return a bool; got int"),
    ],
)
def test_canonical_ids_bad_input(answers, equivalent, exc, message):
    with pytest.raises(exc, match=message):
        agg.canonical_ids(answers, equivalent)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.none() | st.sampled_from(["1", "2", "01", "2.0", "a", "b"]), max_size=12))
def test_canonical_ids_properties(answers):
    ids = agg.canonical_ids(answers, "numeric")
    seen = -1
    for a, i in zip(answers, ids, strict=True):
        assert (i == -1) == (a is None)
        if i >= 0:
            assert i <= seen + 1  # new classes are numbered in order of appearance
            seen = max(seen, int(i))
    for x, ix in zip(answers, ids, strict=True):
        for y, iy in zip(answers, ids, strict=True):
            if x is not None and y is not None:
                assert (ix == iy) == (agg.canonical.numeric_key(x) == agg.canonical.numeric_key(y))


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_ids_near_the_int64_limit(rng, backend):
    big = np.iinfo(np.int64).max
    ids = np.array([[2**62, 5, 2**62, big, big, big, -1], [big, 2**40, 2**40, big, 0, 0, 7]])
    r = agg.majority_vote(ids, backend=backend)
    np.testing.assert_array_equal(r.winner, [big, big])
    np.testing.assert_array_equal(r.count, [3, 2])
    w = np.array([[1.0, 4.0, 2.0, 0.5, 0.5, 0.5, 9.0], [0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 2.0]])
    rw = agg.weighted_vote(ids, w, backend=backend)
    np.testing.assert_array_equal(rw.winner, [5, 2**40])
    random_big = rng.integers(2**62, big, size=(20, 30), endpoint=True)
    random_big[:, ::3] = random_big[:, :1]
    ref = loop_majority(random_big.tolist())
    got = agg.majority_vote(random_big, backend=backend)
    np.testing.assert_array_equal(got.winner, ref[0])
    np.testing.assert_array_equal(got.count, ref[1])


@pytest.mark.slow
def test_a_million_rows_and_1024_candidates(rng):
    ids = rng.integers(-1, 6, size=(10**6, 4)).astype(np.int32)
    ref = agg.majority_vote(ids, backend="numpy")
    got = agg.majority_vote(torch.from_numpy(ids), backend="torch")
    assert got.winner.shape == (10**6,)
    np.testing.assert_array_equal(got.winner.numpy(), ref.winner)
    np.testing.assert_array_equal(got.count.numpy(), ref.count)
    s = rng.random((10**6, 4))
    np.testing.assert_array_equal(
        agg.best_of_n(torch.from_numpy(s), backend="torch").index.numpy(), agg.best_of_n(s).index
    )
    wide = rng.integers(-1, 40, size=(8, 1024))
    ref_w = loop_majority(wide.tolist())
    for backend in ("numpy", "torch"):
        got_w = agg.majority_vote(wide, backend=backend)
        np.testing.assert_array_equal(got_w.winner, ref_w[0])
        np.testing.assert_array_equal(got_w.count, ref_w[1])
