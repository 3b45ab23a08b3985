"""The Triton kernels of uniscale.aggregate against the numpy references.

On CPU the kernels run under Triton's interpreter, which must be switched on before triton is
imported. This module switches it on when it is the first to load triton on a machine without
CUDA; otherwise (triton already loaded by an earlier test module, or a GPU present where the real
compiler is wanted) the interpreter tests skip here and one test reruns this module in a fresh
process with TRITON_INTERPRET=1. GPU tests compile for real and skip without CUDA.

Discrete outputs (winners, counts, indices) compare exactly; float outputs use FLOAT_TOL.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

if importlib.util.find_spec("triton") is None:
    pytest.skip("triton is not installed", allow_module_level=True)
torch = pytest.importorskip("torch")


def _decide_mode() -> str:
    """'interpret' to run the interpreter tests here, 'subprocess' to run them in a child."""
    if os.environ.get("TRITON_INTERPRET") == "1":
        return "interpret"
    if "triton" in sys.modules or torch.cuda.is_available():
        return "subprocess"
    os.environ["TRITON_INTERPRET"] = "1"  # before anything imports triton in this process
    return "interpret"


MODE = _decide_mode()
HAS_CUDA = torch.cuda.is_available()
REPO = Path(__file__).resolve().parents[1]

import uniscale.aggregate as agg  # noqa: E402 - after the interpreter decision
from uniscale.aggregate.triton_backend import kernels_module  # noqa: E402

interpreted = pytest.mark.skipif(
    MODE != "interpret",
    reason="triton was loaded without TRITON_INTERPRET in this process (or a GPU is present); "
    "test_interpreter_suite_in_a_fresh_process runs these tests",
)
gpu = pytest.mark.skipif(
    not HAS_CUDA or MODE == "interpret", reason="needs a CUDA device and compiled Triton"
)

# Kernels accumulate in float64 like the references; only the order of additions differs.
FLOAT_TOL = {
    "float16": {"rtol": 1e-12, "atol": 1e-12},
    "bfloat16": {"rtol": 1e-12, "atol": 1e-12},
    "float32": {"rtol": 1e-12, "atol": 1e-12},
    "float64": {"rtol": 1e-12, "atol": 1e-12},
}

# (B, N, tile overrides): shapes of 1, odd sizes, and sizes just under, at and over a tile
VOTE_SHAPES = [
    (1, 1, {}),
    (3, 5, {}),
    (129, 4, {}),  # BLOCK_B = 32 rows for N = 4: four full blocks and one row
    (4, 31, {}),
    (4, 32, {}),
    (4, 33, {}),  # BLOCK_J = 32
    (3, 65, {}),  # BLOCK_K = 64
    (5, 37, {"block_b": 2, "block_j": 4, "block_k": 8}),
    (6, 16, {"block_b": 4, "block_j": 16, "block_k": 16}),
]
BEST_SHAPES = [
    (1, 1, {}),
    (7, 3, {}),
    (3, 255, {}),
    (3, 256, {}),
    (3, 257, {}),  # BLOCK_N = 256
    (300, 4, {}),  # BLOCK_B = 128 rows for N = 4
    (5, 37, {"block_b": 2, "block_n": 8}),
]
DTYPES = ["float16", "bfloat16", "float32", "float64"]


def _ids(rng, b, n, id_dtype):
    ids = rng.integers(-1, 4, size=(b, n))
    ids[0] = 2  # every candidate agrees
    if b > 1:
        ids[1] = -1  # nothing valid
    if b > 2:
        ids[2] = np.arange(n) % 3  # three-way ties: the first answer must win
    return torch.from_numpy(ids.astype(id_dtype))


def _check_vote(got, ref):
    np.testing.assert_array_equal(got.winner.numpy(), ref.winner.numpy())
    np.testing.assert_array_equal(got.count.numpy(), ref.count.numpy())
    np.testing.assert_allclose(got.agreement.numpy(), ref.agreement.numpy(), rtol=1e-15)


@interpreted
@pytest.mark.parametrize("b,n,blocks", VOTE_SHAPES)
@pytest.mark.parametrize("id_dtype", [np.int32, np.int64])
def test_majority_vote_kernel_matches_reference(rng, b, n, blocks, id_dtype):
    ids = _ids(rng, b, n, id_dtype)
    valid = torch.from_numpy(rng.random((b, n)) > 0.2)
    vote = kernels_module("vote").vote
    for v in (None, valid):
        ids_before = ids.clone()
        ref = agg.majority_vote(ids, v, backend="numpy")
        if not blocks:
            _check_vote(agg.majority_vote(ids, v, backend="triton"), ref)
        winner, total, share = vote(ids, v, None, **blocks)
        _check_vote(agg.VoteResult(winner, total.to(torch.int64), share), ref)
        assert torch.equal(ids, ids_before)


@interpreted
@pytest.mark.parametrize("b,n,blocks", VOTE_SHAPES)
def test_weighted_vote_kernel_exact_with_dyadic_weights(rng, b, n, blocks):
    ids = _ids(rng, b, n, np.int64)
    w = torch.from_numpy(rng.choice([0.0, 0.25, 0.5, 1.0, 2.0, np.nan], size=(b, n)))
    w_before = w.clone()
    ref = agg.weighted_vote(ids, w, backend="numpy")
    winner, total, share = kernels_module("vote").vote(ids, None, w, **blocks)
    np.testing.assert_array_equal(winner.numpy(), ref.winner.numpy())
    np.testing.assert_array_equal(total.numpy(), ref.weight.numpy())
    np.testing.assert_allclose(share.numpy(), ref.share.numpy(), rtol=1e-15)
    assert torch.equal(torch.nan_to_num(w), torch.nan_to_num(w_before))


@interpreted
@pytest.mark.parametrize("dtype", DTYPES)
def test_weighted_vote_kernel_random_weights(rng, dtype):
    ids = torch.from_numpy(rng.integers(-1, 5, size=(9, 45)))
    w = torch.from_numpy(rng.random((9, 45))).to(getattr(torch, dtype))
    ref = agg.weighted_vote(ids, w, backend="numpy")
    got = agg.weighted_vote(ids, w, backend="triton")
    np.testing.assert_array_equal(got.winner.numpy(), ref.winner.numpy())
    np.testing.assert_allclose(got.weight.numpy(), ref.weight.numpy(), **FLOAT_TOL[dtype])
    np.testing.assert_allclose(got.share.numpy(), ref.share.numpy(), **FLOAT_TOL[dtype])


def _scores(rng, b, n, dtype):
    s = rng.choice([-np.inf, -1.0, 0.0, 0.25, 1.0, np.inf, np.nan], size=(b, n))
    s[0] = np.nan  # all missing
    if b > 1:
        s[1] = -np.inf  # all -inf: a valid row, the first index wins
    if b > 2:
        s[2] = 0.5  # all tied
    return torch.from_numpy(s).to(getattr(torch, dtype))


@interpreted
@pytest.mark.parametrize("b,n,blocks", BEST_SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_best_of_n_kernel_matches_reference(rng, b, n, blocks, dtype):
    s = _scores(rng, b, n, dtype)
    valid = torch.from_numpy(rng.random((b, n)) > 0.2)
    best_of_n = kernels_module("best_of_n").best_of_n
    for v in (None, valid):
        before = s.clone()
        ref = agg.best_of_n(s, v, backend="numpy")
        if blocks:
            index, score = best_of_n(s, v, **blocks)
        else:
            index, score = agg.best_of_n(s, v, backend="triton")
        assert score.dtype == s.dtype
        np.testing.assert_array_equal(index.numpy(), ref.index.numpy())
        np.testing.assert_array_equal(
            score.to(torch.float64).numpy(), ref.score.to(torch.float64).numpy()
        )
        assert torch.equal(s.isnan(), before.isnan())
        assert torch.equal(torch.nan_to_num(s), torch.nan_to_num(before))


def _offsets(lengths):
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


PRM_CASES = [
    ("empty offsets", [], {}),
    ("all candidates empty", [0, 0, 0], {}),
    ("one step", [1], {}),
    ("ragged", [3, 0, 7, 1, 0, 5, 2, 9, 4, 0, 6], {}),
    ("long candidate", [130, 1, 0, 65], {}),  # BLOCK_S = 64
    ("small tiles", [3, 0, 7, 1, 0, 5, 2, 9, 4, 0, 6], {"block_c": 4, "block_s": 2}),
]


@interpreted
@pytest.mark.parametrize("name,lengths,blocks", PRM_CASES, ids=[c[0] for c in PRM_CASES])
@pytest.mark.parametrize("mode", ["min", "last", "mean", "prod", "sum_log"])
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_prm_reduce_kernel_matches_reference(rng, name, lengths, blocks, mode, dtype):
    offsets = _offsets(lengths)
    steps = rng.uniform(0.5, 1.0, size=int(offsets[-1]))
    if steps.size > 4:
        steps[2] = np.nan
        steps[4] = 0.0
    x = torch.from_numpy(steps).to(getattr(torch, dtype))
    before = x.clone()
    ref = agg.prm_reduce(x, offsets, mode, backend="numpy")
    if blocks:
        got = kernels_module("prm_reduce").prm_reduce(x, offsets, mode, **blocks)
    else:
        got = agg.prm_reduce(x, torch.from_numpy(offsets), mode, backend="triton")
    assert got.dtype == torch.float64 and got.shape == (len(lengths),)
    np.testing.assert_allclose(got.numpy(), ref.numpy(), **FLOAT_TOL[dtype])
    assert torch.equal(torch.nan_to_num(x), torch.nan_to_num(before))


@interpreted
def test_prm_reduce_kernel_bfloat16_and_strided(rng):
    steps = torch.from_numpy(rng.uniform(0.1, 1.0, size=40))
    strided = steps[::2]  # stride 2
    offsets = _offsets([4, 0, 6, 10])
    for x in (strided, strided.to(torch.bfloat16)):
        for mode in agg.PRM_MODES:
            ref = agg.prm_reduce(x, offsets, mode, backend="numpy")
            got = agg.prm_reduce(x, offsets, mode, backend="triton")
            np.testing.assert_allclose(got.numpy(), ref.numpy(), **FLOAT_TOL["bfloat16"])


@interpreted
def test_kernels_take_strided_views(rng):
    ids = torch.from_numpy(rng.integers(0, 3, size=(20, 7)))
    view = ids.T  # (7, 20), strides (1, 7)
    ref = agg.majority_vote(view.contiguous(), backend="numpy")
    _check_vote(agg.majority_vote(view, backend="triton"), ref)
    s = torch.from_numpy(rng.random((20, 7))).T
    ref_b = agg.best_of_n(s.contiguous(), backend="numpy")
    got_b = agg.best_of_n(s, backend="triton")
    np.testing.assert_array_equal(got_b.index.numpy(), ref_b.index.numpy())


@interpreted
def test_kernel_outputs_move_when_inputs_move():
    ids = torch.tensor([[1, 1, 2, 2, 3]])
    assert int(agg.majority_vote(ids, backend="triton").winner[0]) == 1
    ids[0, 4] = 2
    assert int(agg.majority_vote(ids, backend="triton").winner[0]) == 2
    w = torch.tensor([[5.0, 0.1, 0.1, 0.1, 0.1]])
    assert int(agg.weighted_vote(ids, w, backend="triton").winner[0]) == 1
    w[0, 0] = 0.1
    assert int(agg.weighted_vote(ids, w, backend="triton").winner[0]) == 2
    s = torch.tensor([[0.1, 0.2, 0.3]])
    assert int(agg.best_of_n(s, backend="triton").index[0]) == 2
    s[0, 0] = 0.9
    assert int(agg.best_of_n(s, backend="triton").index[0]) == 0
    steps, off = torch.tensor([0.5, 0.6, 0.7]), np.array([0, 3])
    assert float(agg.prm_reduce(steps, off, "min", backend="triton")[0]) == pytest.approx(0.5)
    steps[1] = 0.1
    assert float(agg.prm_reduce(steps, off, "min", backend="triton")[0]) == pytest.approx(0.1)


@interpreted
def test_kernels_on_empty_batches_and_rows_without_candidates():
    for b, n in ((0, 5), (3, 0)):
        r = agg.majority_vote(torch.zeros((b, n), dtype=torch.int64), backend="triton")
        assert r.winner.tolist() == [-1] * b and r.count.tolist() == [0] * b
        w = agg.weighted_vote(
            torch.zeros((b, n), dtype=torch.int64), torch.zeros((b, n)), backend="triton"
        )
        assert w.winner.tolist() == [-1] * b and w.share.tolist() == [0.0] * b
        best = agg.best_of_n(torch.zeros((b, n)), backend="triton")
        assert best.index.tolist() == [-1] * b and bool(best.score.isnan().all())


@interpreted
def test_numpy_input_through_triton_returns_numpy():
    r = agg.majority_vote(np.array([[4, 4, 1]]), backend="triton")
    assert isinstance(r.winner, np.ndarray) and r.winner[0] == 4 and r.count[0] == 2


@interpreted
def test_auto_does_not_pick_the_interpreter_for_cpu_tensors():
    from uniscale.aggregate import ops

    cpu = torch.zeros((1, 1), dtype=torch.int64)
    assert ops._choose("majority_vote", "auto", cpu) == "numpy"


@interpreted
@pytest.mark.slow
def test_kernels_at_1024_candidates(rng):
    ids = torch.from_numpy(rng.integers(-1, 40, size=(2, 1024)))
    _check_vote(agg.majority_vote(ids, backend="triton"), agg.majority_vote(ids, backend="numpy"))
    s = torch.from_numpy(rng.random((3, 1024)))
    got = agg.best_of_n(s, backend="triton")
    np.testing.assert_array_equal(got.index.numpy(), agg.best_of_n(s, backend="numpy").index)


@pytest.mark.slow
@pytest.mark.skipif(MODE == "interpret", reason="the interpreter tests run in this process")
def test_interpreter_suite_in_a_fresh_process():
    env = dict(os.environ, TRITON_INTERPRET="1")
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO / "python"), env.get("PYTHONPATH", "")) if p
    )
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(Path(__file__)),
            "-q",
            "-p",
            "no:cacheprovider",
            "-k",
            "not fresh_process and not gpu",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert " passed" in out.stdout and "skipped" not in out.stdout, out.stdout[-2000:]


# ---------------------------------------------------------------- compiled for a GPU, without one

# Compiles every kernel family ahead of time for sm_90 (H100/H200) with Triton's bundled ptxas. The
# interpreter does not type-check like the compiler, so this is what shows, on a machine without
# a GPU, that the kernels lower to PTX and cubin. It runs in a child without TRITON_INTERPRET.
_AOT_SCRIPT = r"""
import triton
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource

from uniscale.aggregate.triton_backend import kernels_module

vote = kernels_module("vote")._vote_kernel
best = kernels_module("best_of_n")._best_of_n_kernel
prm = kernels_module("prm_reduce")._prm_reduce_kernel
I = "i32"
variants = []
for ids_t, w_t, has_valid, weighted in [
    ("*i64", "*fp32", True, True), ("*i32", "*fp16", False, True), ("*i64", "*i64", True, False)
]:
    sig = dict(ids_ptr=ids_t, valid_ptr="*u8", weights_ptr=w_t, winner_ptr="*i64",
               total_ptr="*fp64", share_ptr="*fp64", B=I, N=I, stride_ids_b=I, stride_ids_n=I,
               stride_valid_b=I, stride_valid_n=I, stride_w_b=I, stride_w_n=I)
    const = dict(HAS_VALID=has_valid, WEIGHTED=weighted, BLOCK_B=2, BLOCK_J=32, BLOCK_K=64)
    variants.append((vote, sig, const))
for s_t, compute in [("*fp16", "fp32"), ("*bf16", "fp32"), ("*fp32", "fp32"), ("*fp64", "fp64")]:
    sig = dict(scores_ptr=s_t, valid_ptr="*u8", index_ptr="*i64", best_ptr=s_t, B=I, N=I,
               stride_s_b=I, stride_s_n=I, stride_valid_b=I, stride_valid_n=I)
    const = dict(HAS_VALID=True, COMPUTE_DTYPE=getattr(triton.language, "float" + compute[2:]),
                 BLOCK_B=32, BLOCK_N=64)
    variants.append((best, sig, const))
for mode in range(5):
    sig = dict(steps_ptr="*fp32", offsets_ptr="*i64", out_ptr="*fp64", n_candidates=I,
               stride_steps=I)
    variants.append((prm, sig, dict(MODE=mode, BLOCK_C=16, BLOCK_S=64)))
for arch in (90,):
    for fn, sig, const in variants:
        for name in const:
            sig[name] = "constexpr"
        compiled = triton.compile(
            ASTSource(fn, sig, constexprs=const),
            target=GPUTarget("cuda", arch, 32),
            options={"enable_fp_fusion": False},
        )
        assert compiled.asm["cubin"], (fn.__name__, const)
        print("ok", arch, fn.__name__, sorted(const.items(), key=str))
"""


@pytest.mark.slow
def test_kernels_compile_to_cubin_for_sm90():
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO / "python"), env.get("PYTHONPATH", "")) if p
    )
    out = subprocess.run(
        [sys.executable, "-W", "error", "-c", _AOT_SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert out.stdout.count("ok ") == 12, out.stdout


# ---------------------------------------------------------------- real GPU


@gpu
@pytest.mark.gpu
@pytest.mark.parametrize("b,n", [(1, 1), (1000, 7), (65536, 64), (257, 1024)])
def test_gpu_kernels_match_reference(rng, b, n):
    dev = torch.device("cuda")
    ids = torch.from_numpy(rng.integers(-1, 8, size=(b, n))).to(dev)
    valid = torch.from_numpy(rng.random((b, n)) > 0.1).to(dev)
    ref = agg.majority_vote(ids.cpu(), valid.cpu(), backend="numpy")
    got = agg.majority_vote(ids, valid)  # auto: Triton on CUDA
    _check_vote(agg.VoteResult(*(f.cpu() for f in got)), ref)
    w = torch.from_numpy(rng.choice([0.0, 0.25, 0.5, 1.0, np.nan], size=(b, n))).to(dev)
    ref_w = agg.weighted_vote(ids.cpu(), w.cpu(), backend="numpy")
    got_w = agg.weighted_vote(ids, w, backend="triton")
    np.testing.assert_array_equal(got_w.winner.cpu().numpy(), ref_w.winner.numpy())
    np.testing.assert_array_equal(got_w.weight.cpu().numpy(), ref_w.weight.numpy())
    for dtype in DTYPES:
        s = _scores(rng, b, n, dtype).to(dev)
        ref_b = agg.best_of_n(s.cpu(), backend="numpy")
        got_b = agg.best_of_n(s, backend="triton")
        np.testing.assert_array_equal(got_b.index.cpu().numpy(), ref_b.index.numpy())
    lengths = rng.integers(0, 12, size=b)
    offsets = _offsets(lengths)
    steps = torch.from_numpy(rng.uniform(0.01, 1.0, size=int(offsets[-1]))).to(dev)
    for mode in agg.PRM_MODES:
        ref_p = agg.prm_reduce(steps.cpu(), offsets, mode, backend="numpy")
        got_p = agg.prm_reduce(steps, offsets, mode, backend="triton")
        np.testing.assert_allclose(got_p.cpu().numpy(), ref_p.numpy(), rtol=1e-12, atol=1e-12)
