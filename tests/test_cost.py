"""Cost model: counts, eFLOPs against hand-computed values, dollars, log min-max normaliser."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from uniscale.cost import (
    Cost,
    CostCounts,
    DecodeRecord,
    LogMinMaxNormalizer,
    ModelSpec,
    TokenCount,
    decode_eflops,
    dollars,
    eflops,
    eflops_breakdown,
    prefill_eflops,
    verify_eflops,
)

# Shape A: a made-up 1B model with D given directly.
SPEC_A = ModelSpec(
    "a-1b",
    params=1e9,
    gqa_ratio=4.0,
    kv_bytes_per_token=1000.0,
    price_in_per_1k=0.5,
    price_out_per_1k=2.0,
)
# Shape B: a Qwen2.5-7B-like shape (28 layers, hidden 3584, 28 query / 4 KV heads); D estimated
# from the shape: 2 * 28 * 3584 / 7 * 2 bytes = 57344.
SPEC_B = ModelSpec("b-7b", params=7.6e9, n_layers=28, hidden_size=3584, gqa_ratio=7.0)
SPEC_PRM = ModelSpec("prm-1.5b", params=1.5e9, price_in_per_1k=0.1)


def test_kv_bytes_estimated_from_shape() -> None:
    assert SPEC_B.kv_bytes == 57344.0
    assert SPEC_A.kv_bytes == 1000.0
    with pytest.raises(ValueError, match="kv_bytes_per_token is unknown"):
        _ = ModelSpec("x", params=1e9).kv_bytes


def test_eflops_shape_a_by_hand() -> None:
    # One prompt of 10 tokens, one branch generating 3 tokens, I = 156.
    # prefill: 2*1e9*10 + 2*1e9*156                                  = 332_000_000_000
    # decode step at context l (l = 10, 11, 12), b = 1:
    #   2*1e9 + 2*4*l*1000 + 2*1e9*156 + 2*l*1000*156 = 314e9 + 320_000*l
    #   sum = 3*314e9 + 320_000*33                                   = 942_010_560_000
    counts = CostCounts()
    counts.record_generation("a-1b", [10], [[3]])
    parts = eflops_breakdown(counts, [SPEC_A])
    assert parts.prefill == 332_000_000_000
    assert parts.decode == 942_010_560_000
    assert parts.verify == 0
    assert eflops(counts, SPEC_A) == 1_274_010_560_000
    # dollars: 10 in at 0.5/1k + 3 out at 2/1k
    assert dollars(counts, SPEC_A) == pytest.approx(10 / 1000 * 0.5 + 3 / 1000 * 2.0)


def test_eflops_shape_b_by_hand_with_branches_and_verifier() -> None:
    # Prompts of 20 and 30 tokens; the first sampled twice (2 and 1 tokens), the second once
    # (1 token); I = 100; then a verifier batch over 100 tokens.
    # prefill (one batched pass, l_in = 50): 2*7.6e9*50 + 2*7.6e9*100 = 2_280_000_000_000
    # decode, per step 2*P*b + 2*P*I + 2*D*(r + I)*sum(b*l), D = 57344, r = 7:
    #   step 0: b = 3, sum(b*l) = 20 + 20 + 30 = 70
    #     = 45_600_000_000 + 1_520_000_000_000 + 114688*107*70 (= 859_013_120) = 1_566_459_013_120
    #   step 1: b = 1, sum(b*l) = 21
    #     = 15_200_000_000 + 1_520_000_000_000 + 114688*107*21 (= 257_703_936) = 1_535_457_703_936
    # verify: 2*1.5e9*100 + 2*1.5e9*100 = 600_000_000_000
    counts = CostCounts()
    counts.record_generation("b-7b", [20, 30], [[2, 1], [1]])
    counts.record_verification("prm-1.5b", 100)
    parts = eflops_breakdown(counts, {"b-7b": SPEC_B, "prm-1.5b": SPEC_PRM}, intensity=100)
    assert parts.prefill == 2_280_000_000_000
    assert parts.decode == 1_566_459_013_120 + 1_535_457_703_936
    assert parts.verify == 600_000_000_000
    assert parts.total == 5_981_916_717_056
    assert counts.prompt_tokens == 50
    assert counts.completion_tokens == 4
    assert counts.verifier_tokens == 100
    assert counts.max_branches == 3
    assert counts.decode_steps == 2
    by_model = counts.tokens_by_model()
    assert (by_model["b-7b"].prompt, by_model["b-7b"].completion) == (50, 4)
    assert (by_model["prm-1.5b"].prompt, by_model["prm-1.5b"].completion) == (100, 0)
    assert dollars(counts, [SPEC_B, SPEC_PRM]) == pytest.approx(100 / 1000 * 0.1)


def test_decode_record_sums_match_step_by_step() -> None:
    rng = np.random.default_rng(0)
    prompts = rng.integers(1, 50, size=7).tolist()
    comps = rng.integers(0, 20, size=7).tolist()
    rec = DecodeRecord.from_lengths("m", prompts, comps)
    steps = max(comps)
    b_sum = sum(sum(1 for c in comps if c > t) for t in range(steps))
    bl_sum = sum(
        sum(p + t for p, c in zip(prompts, comps, strict=True) if c > t) for t in range(steps)
    )
    assert (rec.steps, rec.branch_tokens, rec.context_tokens) == (steps, b_sum, bl_sum)


def test_batching_branches_is_cheaper_than_separate_calls() -> None:
    together = CostCounts()
    together.record_generation("a-1b", [10], [[5, 5, 5, 5]])
    apart = CostCounts()
    for _ in range(4):
        apart.record_generation("a-1b", [10], [[5]])
    assert together.completion_tokens == apart.completion_tokens == 20
    # Weights are read once per step instead of once per branch and step, and prefilled once.
    assert eflops(together, SPEC_A) < eflops(apart, SPEC_A)


def test_uniform_decode_record() -> None:
    rec = DecodeRecord.uniform("m", branches=4, mean_context=100, steps=3)
    assert (rec.steps, rec.branch_tokens, rec.context_tokens) == (3, 12, 1200)
    with pytest.raises(ValueError, match="branches must be >= 1"):
        DecodeRecord.uniform("m", branches=0, mean_context=10, steps=2)


def test_cost_from_counts() -> None:
    counts = CostCounts()
    counts.record_generation("a-1b", [10], [[3]])
    cost = Cost.from_counts(counts, [SPEC_A], wall_s=1.5)
    assert cost.eflops == 1_274_010_560_000
    assert cost.completion_tokens == 3 and cost.prompt_tokens == 10
    assert cost.as_dict()["wall_s"] == 1.5
    unpriced = Cost.from_counts(counts, None)
    assert unpriced.eflops is None and unpriced.dollars is None


def test_merge_and_bad_input_leave_state_unchanged() -> None:
    counts = CostCounts()
    counts.record_generation("a-1b", [10], [[3]])
    before = copy.deepcopy(counts)
    with pytest.raises(ValueError, match="record_generation.*expected one list per prompt"):
        counts.record_generation("a-1b", [10, 4], [[3]])
    with pytest.raises(ValueError, match="completion_tokens\\[0\\]\\[1\\] must be >= 0"):
        counts.record_generation("a-1b", [10], [[3, -1]])
    with pytest.raises(TypeError, match="prompt_tokens\\[0\\] must be a non-negative int"):
        counts.record_generation("a-1b", [1.5], [[3]])
    with pytest.raises(TypeError, match="model must be a non-empty str"):
        counts.record_generation("", [1], [[3]])
    assert counts == before
    other = CostCounts()
    other.record_generation("b-7b", [5], [[1, 1]])
    counts.merge(other)
    assert counts.generate_calls == 2 and counts.max_branches == 2
    assert counts.models == ["a-1b", "b-7b"]


def test_missing_spec_is_a_key_error_naming_the_model() -> None:
    counts = CostCounts()
    counts.record_generation("unknown-model", [10], [[3]])
    with pytest.raises(KeyError, match="unknown-model"):
        eflops(counts, [SPEC_A])
    with pytest.raises(KeyError, match="dollars: no ModelSpec"):
        dollars(counts, [SPEC_A])
    with pytest.raises(TypeError, match="specs\\[0\\] must be a ModelSpec"):
        eflops(counts, ["nope"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="intensity must be finite"):
        eflops(counts, SPEC_A, intensity=float("nan"))


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"params": 0}, ValueError, "params must be finite and > 0"),
        ({"params": None}, TypeError, "params must be a positive number"),
        ({"params": 1e9, "gqa_ratio": -1}, ValueError, "gqa_ratio"),
        ({"params": 1e9, "n_layers": 2.5}, TypeError, "n_layers must be an int"),
        ({"params": 1e9, "price_in_per_1k": -0.1}, ValueError, "price_in_per_1k"),
    ],
)
def test_model_spec_validation(kwargs: dict, exc: type, match: str) -> None:
    with pytest.raises(exc, match=match):
        ModelSpec("m", **kwargs)


def test_log_min_max_normalizer() -> None:
    norm = LogMinMaxNormalizer().fit([1e9, 1e12, 1e10])
    assert (norm.lo, norm.hi) == (1e9, 1e12)
    assert norm(1e9) == 0.0
    assert norm(1e12) == 1.0
    assert norm(1e10) == pytest.approx(1 / 3)
    assert norm(1e15) == 1.0 and norm(1.0) == 0.0  # clipped
    out = norm(np.array([[1e9, 1e12], [1e10, 1e11]]))
    assert out.shape == (2, 2)
    np.testing.assert_allclose(out, [[0, 1], [1 / 3, 2 / 3]])
    assert LogMinMaxNormalizer(5.0, 5.0)(5.0) == 0.0


def test_log_min_max_normalizer_errors_keep_state() -> None:
    norm = LogMinMaxNormalizer(1.0, 100.0)
    with pytest.raises(ValueError, match="fit: every cost must be finite and > 0"):
        norm.fit([1.0, 0.0])
    with pytest.raises(ValueError, match="non-empty 1-D"):
        norm.fit([])
    assert (norm.lo, norm.hi) == (1.0, 100.0)
    with pytest.raises(ValueError, match="lo must be <= hi"):
        LogMinMaxNormalizer(10.0, 1.0)
    with pytest.raises(ValueError, match="give both lo and hi"):
        LogMinMaxNormalizer(1.0, None)
    with pytest.raises(ValueError, match="not fitted"):
        LogMinMaxNormalizer()(3.0)
    with pytest.raises(ValueError, match="costs must be finite and > 0"):
        norm(-1.0)


@pytest.mark.parametrize("function", [prefill_eflops, verify_eflops])
def test_eflops_of_one_batch_validate_the_token_count(function) -> None:
    name = function.__name__
    assert function(SPEC_A, np.int64(10)) == function(SPEC_A, 10)  # numpy counts are counts
    assert function(SPEC_A, 0) == 2.0 * SPEC_A.params * 156.0
    with pytest.raises(ValueError, match=rf"{name}: tokens must be >= 0, got -5"):
        function(SPEC_A, -5)
    with pytest.raises(TypeError, match=rf"{name}: tokens must be a non-negative int, got float"):
        function(SPEC_A, 2.0)
    with pytest.raises(TypeError, match=rf"{name}: tokens must be a non-negative int, got bool"):
        function(SPEC_A, True)
    with pytest.raises(TypeError, match=rf"{name}: tokens must be a non-negative int, got bool"):
        function(SPEC_A, np.bool_(True))
    with pytest.raises(TypeError, match=rf"{name}: spec must be a ModelSpec, got str"):
        function("a-1b", 10)


def test_counts_are_validated_at_every_entry_point() -> None:
    with pytest.raises(TypeError, match=r"decode_eflops: rec must be a DecodeRecord, got int"):
        decode_eflops(SPEC_A, 3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"eflops: counts must be a CostCounts, got dict"):
        eflops({}, SPEC_A)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"dollars: counts must be a CostCounts, got dict"):
        dollars({}, SPEC_A)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"DecodeRecord: steps must be a non-negative int"):
        DecodeRecord("m", 1.0, 1, 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"DecodeRecord.uniform: branches must be a non-negative"):
        DecodeRecord.uniform("m", branches=True, mean_context=3)
    with pytest.raises(ValueError, match=r"TokenCount: prompt must be >= 0, got -1"):
        TokenCount(-1, 0)
    with pytest.raises(ValueError, match=r"CostCounts: search_steps must be >= 0, got -2"):
        CostCounts(search_steps=-2)
    counts = CostCounts()
    counts.record_generation("a-1b", [10], [[3]])
    before = copy.deepcopy(counts)
    with pytest.raises(TypeError, match=r"record_verification: tokens must be a non-negative int"):
        counts.record_verification("prm-1.5b", 7.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"record_verification: tokens must be >= 0, got -7"):
        counts.record_verification("prm-1.5b", -7)
    with pytest.raises(TypeError, match=r"completion_tokens\[0\]\[0\] must be a non-negative int"):
        counts.record_generation("a-1b", [10], [[False]])
    assert counts == before
    # numpy counts are accepted and stored as Python ints (no int64 overflow in the sums)
    counts.record_generation("a-1b", np.array([10]), [np.array([3], dtype=np.int32)])
    counts.record_verification("prm-1.5b", np.int64(7))
    assert counts.prefills[-1] == before.prefills[0]
    assert type(counts.prefills[-1].tokens) is int and type(counts.verifications[0].tokens) is int
    big = DecodeRecord.from_lengths("m", np.array([2**40]), np.array([2**40]))
    assert big.context_tokens == 2**80 + 2**40 * (2**40 - 1) // 2
