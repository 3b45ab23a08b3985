"""One replay experiment: every policy on the same streams, seeds and sample draws.

:func:`run_replay` builds the arms, draws every (trial, query, arm) outcome once, computes costs
and rewards, builds the features once, then plays each policy on each seed's stream and
summarises. The policies:

=====================  =========================================================================
``uniscale``           shared LinUCB with joint features over the full arm space
``uniscale_routing``   the same on the routing-only subspace (n = 1 arms)
``uniscale_tts``       the same on the TTS-only subspace (one model, every n)
``random``             uniform over all arms
``greedy``             LinUCB with alpha = 0
``epsilon_greedy``     greedy with probability 1 − ε, uniform otherwise
``thompson``           linear Thompson sampling
``knn``                supervised k-NN router (see :mod:`uniscale.replay.knn`)
``cascade@τ``          MoT cascade, escalating when the weak arm's agreement < τ
``best_fixed``         the best single arm in hindsight (per seed, on the evaluated steps)
``best_fixed_learn``   held-out mode only: the arm best on the learning half
``oracle``             the best arm of every step
``budget@c``           UniScale in budget mode with target mean cost c per query
``costw@w``            UniScale with reward weights ((1 − w)/2, (1 − w)/2, w)
=====================  =========================================================================
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from uniscale.replay.arms import DEFAULT_N_GRID, ReplayArm, build_arms, routing_only, tts_only
from uniscale.replay.bandit import run_policy
from uniscale.replay.budget import BudgetPacer, budget_weights
from uniscale.replay.cascade import cascade
from uniscale.replay.costs import COST_UNITS, CostTables, compute_costs
from uniscale.replay.features import (
    arm_features,
    expected_arm_costs,
    joint_features,
    query_features,
)
from uniscale.replay.hindsight import best_fixed_arm, oracle, play_fixed
from uniscale.replay.knn import knn_router
from uniscale.replay.metrics import PolicySummary, summarize
from uniscale.replay.outcomes import (
    SampledOutcomes,
    TraceArrays,
    sample_outcomes,
    vote_mixture,
)
from uniscale.replay.steps import PlayLog, RewardWeights, StepTable
from uniscale.replay.streams import MODES, make_streams, stream_trials
from uniscale.replay.trace import Trace
from uniscale.router.reward import PRESETS as _ROUTER_PRESETS

logger = logging.getLogger(__name__)

__all__ = ["PRESETS", "BANDIT_POLICIES", "ReplayConfig", "ReplayResult", "run_replay"]

# The router's presets, so that the replay scores what the router would learn from.
PRESETS = {
    name: RewardWeights(c.w_correct, c.w_verifier, c.w_cost) for name, c in _ROUTER_PRESETS.items()
}
BANDIT_POLICIES = (
    "uniscale",
    "uniscale_routing",
    "uniscale_tts",
    "random",
    "greedy",
    "epsilon_greedy",
    "thompson",
)
_ALL_POLICIES = (*BANDIT_POLICIES, "knn", "cascade")


@dataclass(frozen=True)
class ReplayConfig:
    """Everything that defines a replay run (all fields validated at construction).

    Attributes
    ----------
    preset : str
        ``"cost_sensitive"`` or ``"quality_priority"`` (ignored when ``weights`` is given).
    weights : RewardWeights, optional
    seeds : tuple of int
    passes : int
    mode : {"online", "heldout"}
    cost_unit : {"dollars", "tokens", "eflops"}
        The cost in the reward and the budget.
    verifier : {"none", "agreement", "scores"}
        The verifier term of the reward: none (default; the MoT data has no verifier scores: the
        other weights are rescaled as the router does for a missing part, see
        :meth:`RewardWeights.without_verifier`), the vote agreement (a self-consistency signal,
        but trivially 1 for n = 1 arms, so it favours them), or the trace's scores.
    policies : tuple of str
        Which learning policies and baselines to run (oracle and best fixed always run).
    alpha, warmup, lam : LinUCB parameters (warm-up = uniform decisions before learning).
    epsilon, thompson_v : parameters of epsilon-greedy and Thompson sampling.
    featurizer : {"hashed", "minilm"}; target_dim, projection: the joint map.
    scale_features : divide the joint features by their largest row norm (||x|| <= 1).
    knn_k, knn_train_fraction : the k-NN router.
    cascade_weak, cascade_strong : arm names (``ReplayArm.name``) or None for the defaults
        (weak: the cheapest model's first sampling config at its largest n ≤ 10; strong: the
        dearest model's first config at n = 1). Several weak arm names joined by ``+`` vote
        together (the MoT mixed vote, e.g. a CoT and a PoT arm of one model).
    cascade_thresholds : agreement thresholds; one cascade policy each.
    budgets : target mean costs per query (``cost_unit``); one budget-mode run each (it learns
        from the quality-only reward, see :mod:`uniscale.replay.budget`).
    budget_eta : step size of the budget price.
    cost_weights : cost weights w of the sweep; one run each.
    tts_model : the model of the TTS-only subspace (default: the model with most arms).
    n_grid : candidate sample counts of the arms.
    """

    preset: str = "cost_sensitive"
    weights: RewardWeights | None = None
    seeds: tuple[int, ...] = tuple(range(10))
    passes: int = 1
    mode: str = "online"
    cost_unit: str = "dollars"
    verifier: str = "none"
    policies: tuple[str, ...] = _ALL_POLICIES
    alpha: float = 1.0
    warmup: int = 50
    lam: float = 1.0
    epsilon: float = 0.1
    thompson_v: float = 0.5
    featurizer: str = "hashed"
    target_dim: int = 128
    projection: str = "pca"
    scale_features: bool = False
    knn_k: int = 10
    knn_train_fraction: float = 0.2
    cascade_weak: str | None = None
    cascade_strong: str | None = None
    cascade_thresholds: tuple[float, ...] = (0.6, 0.8, 1.0)
    budgets: tuple[float, ...] = ()
    budget_eta: float = 0.05
    cost_weights: tuple[float, ...] = ()
    tts_model: str | None = None
    n_grid: tuple[int, ...] = DEFAULT_N_GRID

    def __post_init__(self) -> None:
        op = "ReplayConfig"
        if self.weights is None and self.preset not in PRESETS:
            raise ValueError(f"{op}: preset must be one of {sorted(PRESETS)}, got {self.preset!r}")
        if self.mode not in MODES:
            raise ValueError(f"{op}: mode must be one of {MODES}, got {self.mode!r}")
        if self.cost_unit not in COST_UNITS:
            raise ValueError(f"{op}: cost_unit must be one of {COST_UNITS}, got {self.cost_unit!r}")
        if self.verifier not in ("agreement", "scores", "none"):
            raise ValueError(
                f"{op}: verifier must be 'agreement', 'scores' or 'none', got {self.verifier!r}"
            )
        unknown = [p for p in self.policies if p not in _ALL_POLICIES]
        if unknown:
            raise ValueError(f"{op}: unknown policies {unknown}; known: {list(_ALL_POLICIES)}")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds) or min(self.seeds) < 0:
            raise ValueError(f"{op}: seeds must be distinct ints >= 0, got {self.seeds}")
        if isinstance(self.passes, bool) or not isinstance(self.passes, int) or self.passes < 1:
            raise ValueError(f"{op}: passes must be an int >= 1, got {self.passes!r}")
        for t in self.cascade_thresholds:
            if not 0.0 <= t <= 1.0:
                raise ValueError(f"{op}: cascade thresholds must lie in [0, 1], got {t!r}")
        for b in self.budgets:
            if not (np.isfinite(b) and b > 0):
                raise ValueError(f"{op}: budgets must be positive, got {b!r}")
        for w in self.cost_weights:
            if not 0.0 <= w <= 1.0:
                raise ValueError(f"{op}: cost weights must lie in [0, 1], got {w!r}")
        if self.warmup < 0 or self.alpha < 0:
            raise ValueError(f"{op}: warmup and alpha must be >= 0")

    @property
    def reward_weights(self) -> RewardWeights:
        return self.weights if self.weights is not None else PRESETS[self.preset]


@dataclass
class ReplayResult:
    """Everything a replay measured (see :mod:`uniscale.replay.report` for the outputs).

    Attributes
    ----------
    config : ReplayConfig
    task : str
    n_queries : int
    arms : tuple of ReplayArm
    summaries : dict policy name -> PolicySummary
    fixed_arms : dict with per-arm "accuracy", "reward", "dollars", "tokens", "eflops" lists
        (means over every trial and query: the cloud of fixed arms)
    frontier : list of dicts (kind, label, accuracy, cost per unit, reward) from the budget runs
        and the cost-weight sweep
    info : dict of extra facts (cascade escalation shares, subspaces, best fixed arms, timings)
    """

    config: ReplayConfig
    task: str
    n_queries: int
    arms: tuple[ReplayArm, ...]
    summaries: dict[str, PolicySummary]
    fixed_arms: dict[str, list[float]]
    frontier: list[dict[str, Any]]
    info: dict[str, Any] = field(default_factory=dict)


def _default_cascade(arms: Sequence[ReplayArm], exp_cost: np.ndarray) -> tuple[int, int]:
    by_model: dict[str, list[int]] = {}
    for k, a in enumerate(arms):
        by_model.setdefault(a.model, []).append(k)
    model_cost = {m: float(np.min(exp_cost[ks])) for m, ks in by_model.items()}
    cheap = min(model_cost, key=model_cost.get)
    dear = max(model_cost, key=model_cost.get)
    cheap_arms = [k for k in by_model[cheap] if arms[k].decoding == "sampling"] or by_model[cheap]
    first_cfg = arms[cheap_arms[0]].config_id
    weak = max(
        (k for k in cheap_arms if arms[k].config_id == first_cfg and arms[k].n <= 10),
        key=lambda k: arms[k].n,
    )
    dear_arms = [k for k in by_model[dear] if arms[k].n == 1]
    strong = dear_arms[0]
    return weak, strong


def _arm_by_name(arms: Sequence[ReplayArm], name: str) -> int:
    for k, a in enumerate(arms):
        if a.name == name:
            return k
    raise ValueError(f"run_replay: no arm named {name!r}; e.g. {arms[0].name!r}")


def _make_bandit(kind: str, d: int, cfg: ReplayConfig, seed: int):
    from uniscale.router.policies import make_policy

    common = {"d": d, "warmup": cfg.warmup, "seed": seed}
    if kind in ("uniscale", "uniscale_routing", "uniscale_tts", "budget", "costw"):
        return make_policy("linucb", alpha=cfg.alpha, lam=cfg.lam, **common)
    if kind == "greedy":
        return make_policy("greedy", lam=cfg.lam, **common)
    if kind == "epsilon_greedy":
        return make_policy("epsilon_greedy", epsilon=cfg.epsilon, lam=cfg.lam, **common)
    if kind == "thompson":
        return make_policy("thompson", v=cfg.thompson_v, lam=cfg.lam, **common)
    if kind == "random":
        return make_policy("random", **common)
    raise ValueError(f"_make_bandit: unknown policy kind {kind!r}")


def run_replay(
    trace: Trace,
    config: ReplayConfig | None = None,
    *,
    progress: Callable[[str, int, int], None] | None = None,
) -> ReplayResult:
    """Run every configured policy on the trace and summarise.

    Parameters
    ----------
    trace : Trace
        Restricted to the queries that have outcomes for every configuration.
    config : ReplayConfig, optional
    progress : callable(stage, done, total), optional
        Called as work advances (for a progress bar).

    Returns
    -------
    ReplayResult

    Raises
    ------
    ValueError
        Fewer than 2 complete queries, a cost unit the trace cannot price (eFLOPs without
        parameter counts), a bad cascade arm name.
    """
    cfg = config or ReplayConfig()
    t0 = time.perf_counter()
    tick = progress or (lambda stage, done, total: None)
    trace = trace.complete_queries()
    if len(trace.queries) < 2:
        raise ValueError(
            f"run_replay: need >= 2 queries with every configuration, got {len(trace.queries)}"
        )
    arms = build_arms(trace, cfg.n_grid)
    arrays = TraceArrays.from_trace(trace)
    Q, K = len(trace.queries), len(arms)
    streams = make_streams(Q, cfg.seeds, cfg.passes, cfg.mode)
    trials = stream_trials(streams)
    done = [0]

    def arm_done(n: int) -> None:
        done[0] += n
        tick("sampling outcomes", done[0], K)

    outcomes = sample_outcomes(arrays, arms, trials, progress=arm_done)
    costs = compute_costs(outcomes, arms, trace.models)
    if cfg.cost_unit == "eflops" and np.isnan(costs.eflops).any():
        unknown = sorted({a.model for a in arms if trace.models[a.model].params is None})
        raise ValueError(
            f"run_replay: cost_unit='eflops' needs parameter counts; the trace "
            f"lacks them for {unknown}"
        )
    t_sample = time.perf_counter() - t0

    from uniscale.cost.normalize import LogMinMaxNormalizer

    exp_cost = expected_arm_costs(trace, arrays, arms, "dollars")
    if cfg.cost_unit == "eflops":
        arm_mean = costs.eflops.mean(axis=(0, 1))
    elif cfg.cost_unit == "tokens":
        arm_mean = expected_arm_costs(trace, arrays, arms, "tokens")
    else:
        arm_mean = exp_cost
    normalizer = LogMinMaxNormalizer().fit(arm_mean)
    arm_norm = np.asarray(normalizer(arm_mean), dtype=np.float64)
    phi = query_features([q.question for q in trace.queries], cfg.featurizer)
    psi = arm_features(arms, exp_cost)
    X = joint_features(
        phi, psi, target_dim=cfg.target_dim, projection=cfg.projection, scale=cfg.scale_features
    )
    d = X.shape[2]
    routing = routing_only(arms)
    tts, tts_model = tts_only(arms, cfg.tts_model)
    mix = None
    if "cascade" in cfg.policies:
        weak, strong = _default_cascade(arms, exp_cost)
        weak_parts = [weak]
        if cfg.cascade_weak is not None:
            weak_parts = [_arm_by_name(arms, nm.strip()) for nm in cfg.cascade_weak.split("+")]
        if cfg.cascade_strong is not None:
            strong = _arm_by_name(arms, cfg.cascade_strong)
        if len(weak_parts) > 1:
            if cfg.verifier == "scores":
                raise ValueError(
                    "run_replay: a mixed-vote cascade has no verifier score; use "
                    "verifier='none' or 'agreement'"
                )
            mix = vote_mixture(arrays, [arms[k] for k in weak_parts], trials)

    def effective(w: RewardWeights) -> RewardWeights:
        # Without verifier scores the router rescales the other weights (RewardConfig.combine).
        return w.without_verifier() if cfg.verifier == "none" else w

    weights = effective(cfg.reward_weights)
    sweep_weights = {
        w: effective(RewardWeights((1 - w) / 2, (1 - w) / 2, w)) for w in cfg.cost_weights
    }

    runs: list[dict[str, PlayLog]] = []
    escalation: dict[str, list[float]] = {}
    best_arms: list[str] = []
    frontier_logs: dict[str, list[PlayLog]] = {}
    n_jobs = len(streams) * (
        len([p for p in cfg.policies if p in BANDIT_POLICIES])
        + len(cfg.budgets)
        + len(cfg.cost_weights)
        + 1
    )
    job = 0
    t1 = time.perf_counter()
    for st in streams:
        table = StepTable.build(
            st, outcomes, costs, weights, cfg.cost_unit, normalizer, cfg.verifier
        )
        logs: dict[str, PlayLog] = {}
        for kind in cfg.policies:
            if kind not in BANDIT_POLICIES:
                continue
            subset = {"uniscale_routing": routing, "uniscale_tts": tts}.get(kind)
            pol = _make_bandit(kind, d, cfg, st.seed)
            logs[kind] = run_policy(
                pol, X, table, name=kind, subset=subset, cost_unit=cfg.cost_unit
            )
            job += 1
            tick("playing policies", job, n_jobs)
        if "knn" in cfg.policies:
            logs["knn"] = knn_router(
                table, phi, k=cfg.knn_k, train_fraction=cfg.knn_train_fraction, seed=st.seed
            )
        if "cascade" in cfg.policies:
            weak_vote = None
            if mix is not None:
                rows = st.trial_rows(outcomes.trials)
                mc, ma = mix[0][rows, st.queries], mix[1][rows, st.queries]
                mv = ma.astype(np.float64) if cfg.verifier == "agreement" else np.zeros(ma.shape)
                weak_vote = (mc, ma, mv)
            for tau in cfg.cascade_thresholds:
                nm = f"cascade@{tau:g}"
                logs[nm], share = cascade(
                    table,
                    weak_parts,
                    strong,
                    tau,
                    weights=weights,
                    cost_unit=cfg.cost_unit,
                    normalizer=normalizer,
                    weak_vote=weak_vote,
                    name=nm,
                )
                escalation.setdefault(nm, []).append(share)
        if cfg.budgets:
            t_b = StepTable.build(
                st,
                outcomes,
                costs,
                effective(budget_weights(cfg.reward_weights)),
                cfg.cost_unit,
                normalizer,
                cfg.verifier,
            )
        for b in cfg.budgets:
            nm = f"budget@{b:g}"
            pacer = BudgetPacer(b, arm_norm, eta=cfg.budget_eta)
            pol = _make_bandit("budget", d, cfg, st.seed)
            log_b = run_policy(pol, X, t_b, name=nm, pacer=pacer, cost_unit=cfg.cost_unit)
            logs[nm] = PlayLog.from_arms(nm, table, log_b.arms)
            frontier_logs.setdefault(nm, []).append(logs[nm])
            job += 1
            tick("playing policies", job, n_jobs)
        for w, rw in sweep_weights.items():
            nm = f"costw@{w:g}"
            t_w = StepTable.build(st, outcomes, costs, rw, cfg.cost_unit, normalizer, cfg.verifier)
            pol = _make_bandit("costw", d, cfg, st.seed)
            log_w = run_policy(pol, X, t_w, name=nm, cost_unit=cfg.cost_unit)
            # Report it under the run's own reward so that every row is comparable.
            logs[nm] = PlayLog.from_arms(nm, table, log_w.arms)
            frontier_logs.setdefault(nm, []).append(logs[nm])
            job += 1
            tick("playing policies", job, n_jobs)
        if cfg.mode == "heldout":
            learn_best = best_fixed_arm(table, ~st.evaluate)
            logs["best_fixed_learn"] = play_fixed(table, learn_best, "best_fixed_learn")
        bf = best_fixed_arm(table)
        best_arms.append(arms[bf].name)
        logs["best_fixed"] = play_fixed(table, bf, "best_fixed")
        logs["oracle"] = oracle(table)
        runs.append(logs)
        job += 1
        tick("playing policies", job, n_jobs)
    t_play = time.perf_counter() - t1
    summaries = summarize(runs, [st.evaluate for st in streams])
    fixed = _fixed_cloud(outcomes, costs, weights, cfg, normalizer)
    frontier = []
    for nm in frontier_logs:
        s = summaries[nm]
        frontier.append(
            {
                "kind": "budget" if nm.startswith("budget@") else "cost_weight",
                "label": nm,
                "accuracy": s.figures["accuracy"].mean,
                "reward": s.figures["reward"].mean,
                **{u: s.figures[u].mean for u in COST_UNITS},
            }
        )
    info = {
        "d": d,
        "n_arms": K,
        "routing_arms": [arms[k].name for k in routing],
        "tts_model": tts_model,
        "tts_arms": len(tts),
        "best_fixed_per_seed": best_arms,
        "seconds_sampling": t_sample,
        "seconds_playing": t_play,
        "seconds_total": time.perf_counter() - t0,
        "steps_per_seed": int(streams[0].length),
        "evaluated_steps_per_seed": int(streams[0].evaluate.sum()),
        "normalizer": [normalizer.lo, normalizer.hi],
        "weights_used": [weights.correct, weights.verifier, weights.cost],
    }
    if "cascade" in cfg.policies:
        info["cascade_weak"] = " + ".join(arms[k].name for k in weak_parts)
        info["cascade_strong"] = arms[strong].name
        info["cascade_escalation"] = {k: float(np.mean(v)) for k, v in escalation.items()}
    return ReplayResult(cfg, trace.task, Q, arms, summaries, fixed, frontier, info)


def _fixed_cloud(
    outcomes: SampledOutcomes,
    costs: CostTables,
    weights: RewardWeights,
    cfg: ReplayConfig,
    normalizer,
) -> dict[str, list[float]]:
    """Mean accuracy, reward and costs of every arm over all trials and queries."""
    ver = {
        "agreement": outcomes.agreement,
        "none": np.zeros(outcomes.shape, np.float32),
        "scores": outcomes.verifier,
    }[cfg.verifier]
    norm = np.asarray(normalizer(costs.unit(cfg.cost_unit)), dtype=np.float64)
    reward = weights.combine(outcomes.correct, ver, norm)
    out = {
        "accuracy": outcomes.correct.mean(axis=(0, 1)).tolist(),
        "reward": reward.mean(axis=(0, 1)).tolist(),
    }
    for u in COST_UNITS:
        out[u] = costs.unit(u).mean(axis=(0, 1)).tolist()
    return out
