"""The Router facade: ``decide`` a request, take ``feedback``, ``save`` and ``load``.

Flow of :meth:`Router.decide`: query features ``phi = featurizer([text])`` (outside the lock),
then under the lock: the joint rows ``X = g(phi, psi(arms))`` (:mod:`uniscale.router.joint`, with
``[psi, 1]`` cached per arm set), the budget price as a penalty, the policy's ``select`` with the
router's generator, and a pending record. :meth:`Router.feedback` merges outcome parts; once every
part with a non-zero reward weight came (or the caller passes ``final=True``), the reward (see
:mod:`uniscale.router.reward`) updates the policy exactly once and the decision closes.

Decision ids are ``<tag>-<counter in hex>``. The tag is 16 hex digits from ``os.urandom`` drawn
at construction: two routers (two processes, or a restart without :meth:`Router.load`) never
issue the same ids even with the same seed, so late feedback for an old decision cannot land on
a new one (it raises :class:`~uniscale.errors.UnknownDecisionError`). The tag is saved with the
state, so a router restored from a save issues the same ids a never-stopped one would. The ids
do not depend on the seed; the decisions themselves do, and only on it.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from uniscale.cost import LogMinMaxNormalizer
from uniscale.router.arm_features import ArmFeaturizer
from uniscale.router.arms import Arm, ArmSpace, ModelEntry
from uniscale.router.budget import BudgetConfig, BudgetController, CostTracker
from uniscale.router.decisions import Decision, DecisionStore, Pending
from uniscale.router.features import make_query_featurizer
from uniscale.router.joint import JointFeaturizer
from uniscale.router.policies import POLICIES, Policy, make_policy
from uniscale.router.reward import RewardConfig, resolve_reward

logger = logging.getLogger(__name__)

__all__ = ["Router"]


def _request_text(request: Any, op: str) -> str:
    """The text to featurize: a str, or a dict's ``question``, ``prompt``, ``text`` or last
    user message."""
    if isinstance(request, str):
        return request
    if isinstance(request, Mapping):
        for key in ("question", "prompt", "text"):
            if isinstance(request.get(key), str):
                return request[key]
        msgs = request.get("messages")
        if isinstance(msgs, Sequence) and not isinstance(msgs, str):
            for m in reversed(msgs):
                if (
                    isinstance(m, Mapping)
                    and m.get("role") == "user"
                    and isinstance(m.get("content"), str)
                ):
                    return m["content"]
        raise ValueError(
            f"{op}: request dict needs a str 'question', 'prompt' or 'text', or 'messages' with a "
            f"user message; got keys {sorted(request)}"
        )
    raise TypeError(f"{op}: request must be a str or a dict, got {type(request)!r}")


def _check_encodable(text: str, where: str) -> None:
    """ValueError when ``text`` cannot be UTF-8 encoded (a lone surrogate such as ``"\\ud800"``,
    which Python strings may hold but no featurizer, engine or log can)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"{where}: text is not valid Unicode: lone surrogate {text[exc.start]!r} at position "
            f"{exc.start} of {text[:40]!r}; expected text that UTF-8 can encode"
        ) from None


def _unit(value: Any, name: str, op: str) -> float | None:
    if value is None:
        return None
    # numpy scalars (np.bool_, np.int64, np.float32, ...) are what array code hands over.
    if not isinstance(value, (bool, int, float, np.bool_, np.integer, np.floating)):
        raise TypeError(f"{op}: {name} must be a number or bool, got {type(value)!r}")
    v = float(value)
    if not math.isfinite(v) or not 0.0 <= v <= 1.0:
        raise ValueError(f"{op}: {name} must lie in [0, 1], got {value!r}")
    return v


class Router:
    """Choose an arm per request and learn from feedback.

    Parameters
    ----------
    arm_space : ArmSpace
        The arms (the router owns it from now on: change it through :meth:`add_arm` /
        :meth:`remove_arm`).
    policy : str or Policy
        A registry name (``"linucb"`` default, ``"disjoint"``, ``"greedy"``, ``"epsilon_greedy"``,
        ``"thompson"``, ``"random"``, ``"fixed"``) or a policy built for this router's dimension.
    featurizer : str or object
        ``"hashed"`` (default, no dependencies), ``"minilm"``, or an object with ``name``,
        ``out_dim``, ``config()`` and ``transform(texts)``.
    reward : str, RewardConfig or mapping
        ``"quality_priority"`` (default), ``"cost_sensitive"``, or custom weights.
    alpha : float
        LinUCB exploration weight (linucb and disjoint).
    warmup : int
        Uniform random decisions before the policy's rule takes over.
    seed : int
        Seeds every random choice (projection, warm-up, exploration); not the decision ids.
    budget : BudgetConfig, float or None
        Hold the average cost per request at this target (see :mod:`uniscale.router.budget`).
    ttl_s : float
        Seconds a decision waits for feedback.
    dim : int
        Target joint feature dimension d (the exact d is ``(r+1)(q+1)``).
    projection : {"random", "pca"}
        Query reduction. ``"pca"`` is fitted either explicitly (:meth:`fit_features`, before
        the first decision) or automatically on the query features of the ``warmup`` random
        decisions (needs ``warmup >= 2``): outcomes that arrive before the fit are kept and fed
        to the policy, in the fitted basis, right after it.
    policy_kwargs : mapping, optional
        Extra constructor arguments of the policy (``epsilon``, ``v``, ``lam``, ``gamma``, ``arm``).
    arm_features : mapping, optional
        Arguments of :class:`ArmFeaturizer` (``model_onehot``, ``description_dim``).
    clock : callable, optional
        Returns the current time in seconds (default ``time.time``); for tests.
    """

    def __init__(
        self,
        arm_space: ArmSpace,
        *,
        policy: str | Policy = "linucb",
        featurizer: Any = "hashed",
        reward: str | RewardConfig | Mapping[str, Any] = "quality_priority",
        alpha: float = 1.0,
        warmup: int = 50,
        seed: int = 0,
        budget: BudgetConfig | float | None = None,
        ttl_s: float = 3600.0,
        dim: int = 64,
        projection: str = "random",
        policy_kwargs: Mapping[str, Any] | None = None,
        arm_features: Mapping[str, Any] | None = None,
        clock: Callable[[], float] | None = None,
        _featurizer_config: Mapping[str, Any] | None = None,
    ) -> None:
        op = "Router"
        if not isinstance(arm_space, ArmSpace):
            raise TypeError(f"{op}: arm_space must be an ArmSpace, got {type(arm_space)!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"{op}: seed must be an int, got {seed!r}")
        if isinstance(ttl_s, bool) or not isinstance(ttl_s, (int, float)) or not ttl_s > 0:
            raise ValueError(f"{op}: ttl_s must be a number > 0, got {ttl_s!r}")
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 2:
            raise ValueError(f"{op}: dim must be an int >= 2, got {dim!r}")
        self.reward = resolve_reward(reward)
        if budget is not None and not isinstance(budget, BudgetConfig):
            budget = BudgetConfig(target=budget)
        self.budget = None if budget is None else BudgetController(budget)
        self.arm_space = arm_space
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)
        self.featurizer = make_query_featurizer(featurizer, _featurizer_config)
        af_kwargs = dict(arm_features or {})
        if af_kwargs.get("description_dim"):
            af_kwargs.setdefault("text_featurizer", self.featurizer)
        self.arm_featurizer = ArmFeaturizer(arm_space, seed=self.seed, **af_kwargs)
        policy_name = policy.name if isinstance(policy, Policy) else policy
        if policy_name not in POLICIES:
            raise ValueError(
                f"{op}: unknown policy {policy_name!r}, expected one of {sorted(POLICIES)}"
            )
        context = policy.context if isinstance(policy, Policy) else POLICIES[policy_name].context
        q = self.arm_featurizer.dim
        if context == "query":
            # One model per arm: spend the whole dimension on the query.
            self.joint = JointFeaturizer(
                self.featurizer.out_dim,
                q,
                proj_dim=max(1, int(dim) - 1),
                projection=projection,
                seed=self.seed,
            )
            d = self.joint.query_out_dim
        else:
            self.joint = JointFeaturizer(
                self.featurizer.out_dim, q, target_dim=dim, projection=projection, seed=self.seed
            )
            d = self.joint.d
        if isinstance(policy, Policy):
            if policy.d != d:
                raise ValueError(f"{op}: policy has d = {policy.d}, this router needs d = {d}")
            self.policy = policy
        else:
            kwargs: dict[str, Any] = {"d": d, "warmup": warmup, "seed": self.seed}
            if policy_name in ("linucb", "disjoint"):
                kwargs["alpha"] = alpha
            if policy_name == "disjoint":
                kwargs["n_arms"] = len(arm_space)
            kwargs.update(policy_kwargs or {})
            self.policy = make_policy(policy_name, **kwargs)
        if self.policy.context != context:
            raise ValueError(
                f"{op}: policy reads {self.policy.context!r} features, expected {context!r}"
            )
        if self.policy.n_arms is not None and self.policy.n_arms != len(arm_space):
            raise ValueError(
                f"{op}: policy has {self.policy.n_arms} arms, the arm space {len(arm_space)}"
            )
        self.store = DecisionStore(ttl_s)
        self.costs = CostTracker(len(arm_space))
        self.cost_lo: float | None = self.reward.cost_lo
        self.cost_hi: float | None = self.reward.cost_hi
        self.clock = clock or time.time
        # Query features of the decisions made before the PCA fit, and outcomes that closed
        # before it: (phi (p,), arm id, reward).
        self._warm_phi: list[np.ndarray] = []
        self._warm_updates: list[tuple[np.ndarray, str, float]] = []
        if not self.joint.fitted and self.policy.warmup < 2:
            logger.info("router: PCA projection must be fitted with fit_features() before use")
        # The generator still draws the value that used to be the tag, so that the decisions a
        # seed gives stay what they were in earlier versions.
        self.rng.integers(0, 2**32)
        self._tag = os.urandom(8).hex()
        self._counter = 0
        self._lock = threading.RLock()
        self._refresh_arms()

    # ------------------------------------------------------------- arm cache
    def _refresh_arms(self) -> None:
        psi = self.arm_featurizer.transform(self.arm_space.arms)
        self._psi1 = self.joint.arm_block(psi)
        self._psi_tiled = JointFeaturizer.tile_arms(self._psi1, self.joint.query_out_dim)
        self._hints = np.array(
            [
                self.arm_space.models[a.model].params * max(a.n_samples, 1)
                for a in self.arm_space.arms
            ],
            dtype=np.float64,
        )

    @property
    def d(self) -> int:
        """Dimension of the rows the policy reads."""
        return self.policy.d

    @property
    def n_arms(self) -> int:
        return len(self.arm_space)

    def add_arm(self, arm: Arm, model: ModelEntry | None = None) -> int:
        """Add an arm (and its model if new) while running; returns its index."""
        with self._lock:
            index = self.arm_space.add(arm, model)
            try:
                self.policy.add_arms(1)
                self.costs.add_arms(1)
                self._refresh_arms()
            except Exception:
                self.arm_space.remove(arm.id)
                raise
            logger.info("router: added arm %s at index %s", arm.id, index)
            return index

    def remove_arm(self, arm_id: Arm | str) -> int:
        """Remove an arm; the others keep what was learned. Returns the index it had.

        Pending decisions for the removed arm still close on feedback but update nothing.
        """
        with self._lock:
            index = self.arm_space.index(arm_id)
            if len(self.arm_space) == 1:
                raise ValueError("Router.remove_arm: cannot remove the last arm")
            self.policy.remove_arms([index])
            self.arm_space.remove(arm_id)
            self.costs.remove_arm(index)
            self._refresh_arms()
            logger.info("router: removed arm %s (index %s)", arm_id, index)
            return index

    def expected_costs(self) -> np.ndarray:
        """Expected raw cost per arm, float64 (K,): the mean observed cost, or for an arm not
        observed yet its size hint scaled by the observed cost/hint ratio; NaN before any cost
        was observed (see :mod:`uniscale.router.budget`)."""
        with self._lock:
            return self.costs.expected(self._hints)

    def mask(self, *, max_cost: float | None = None, **kwargs: Any) -> np.ndarray:
        """Bool (K,) allowed arms: :meth:`ArmSpace.mask` (``models``, ``strategies``, ``kinds``,
        ``exclude``, ``max_samples``) and, with ``max_cost``, only arms whose expected cost
        (:meth:`expected_costs`) is at most ``max_cost`` (a per-request budget; every arm passes
        while no cost has been observed). May allow nothing: check before ``decide``."""
        m = self.arm_space.mask(**kwargs)
        if max_cost is not None:
            if isinstance(max_cost, bool) or not isinstance(max_cost, (int, float)):
                raise TypeError(f"Router.mask: max_cost must be a number, got {max_cost!r}")
            if not np.isfinite(max_cost) or max_cost < 0:
                raise ValueError(f"Router.mask: max_cost must be finite and >= 0, got {max_cost!r}")
            expected = self.expected_costs()
            m &= np.isnan(expected) | (expected <= max_cost)
        return m

    def fit_features(self, texts: Sequence[str]) -> None:
        """Fit the PCA query reduction on sample texts (``projection="pca"``), before learning."""
        with self._lock:
            if self.policy.n_updates or self.policy.n_selected or self.store.pending:
                raise ValueError(
                    "Router.fit_features: the policy already learned or decisions are pending; "
                    "fit the features before the first decision"
                )
            self.joint.fit(self.featurizer.transform(list(texts)))
            self._warm_phi.clear()

    # ---------------------------------------------------------------- decide
    def _penalty(self) -> np.ndarray | None:
        if self.budget is None or self.budget.lam <= 0 or self.cost_lo is None:
            return None
        expected = self.costs.expected(self._hints)
        if np.any(np.isnan(expected)):
            return None
        return self.budget.lam * self._normalize(expected)

    def _normalize(self, cost: np.ndarray | float) -> np.ndarray:
        """Costs -> [0, 1] on the log scale between ``cost_lo`` and ``cost_hi``; a cost below
        ``cost_lo`` (zero included) maps to 0. When the bounds follow the observed costs (no
        bounds in the reward config) and do not yet span a range (no cost seen, or only one
        distinct cost and no size hints to spread it), every cost maps to the neutral 0.5:
        nothing yet says whether it is cheap or dear (see :mod:`uniscale.router.reward`)."""
        c = np.asarray(cost, dtype=np.float64)
        lo, hi = self.cost_lo, self.cost_hi
        if lo is None or hi is None or (hi <= lo * (1 + 1e-9) and self.reward.cost_lo is None):
            # (Bounds a rounding error apart count as one cost.)
            return np.full_like(c, 0.5)
        return np.asarray(LogMinMaxNormalizer(lo, hi)(np.maximum(c, lo)), dtype=np.float64)

    def _features(self, phi: np.ndarray) -> np.ndarray:
        z1 = self.joint.transform_query(phi)
        if self.policy.context == "query":
            return z1
        return JointFeaturizer.combine_tiled(z1, self._psi_tiled)

    def _check_mask(self, mask: Any, B: int, op: str) -> np.ndarray | None:
        if mask is None:
            return None
        m = np.asarray(mask)
        if m.dtype != np.bool_:
            raise TypeError(f"{op}: mask must be a bool array, got dtype {m.dtype}")
        if m.shape not in ((self.n_arms,), (B, self.n_arms)):
            raise ValueError(f"{op}: mask has shape {m.shape}, expected ({self.n_arms},)")
        empty = ~np.broadcast_to(m, (B, self.n_arms)).any(axis=1)
        if np.any(empty):
            raise ValueError(f"{op}: mask allows no arm in row(s) {np.flatnonzero(empty).tolist()}")
        return m

    def decide(self, request: str | Mapping[str, Any], *, mask: Any = None) -> Decision:
        """Choose an arm for one request.

        Parameters
        ----------
        request : str or dict
            The query text, or a dict with ``question``/``prompt``/``text``/``messages``.
        mask : np.ndarray, bool, shape (K,), optional
            True where an arm is allowed (engine up, tenant allowed, ...).
        """
        return self.decide_many([request], mask=mask)[0]

    def decide_many(
        self, requests: Sequence[str | Mapping[str, Any]], *, mask: Any = None
    ) -> list[Decision]:
        """Choose arms for B requests in one batch; ``mask`` (K,) or (B, K) bool."""
        op = "Router.decide"
        if isinstance(requests, (str, Mapping)) or not isinstance(requests, Sequence):
            raise TypeError(f"{op}: requests must be a sequence, got {type(requests)!r}")
        texts = [_request_text(r, op) for r in requests]
        for i, text in enumerate(texts):
            _check_encodable(text, f"{op}: request {i}")
        if not texts:
            return []
        phi = self.featurizer.transform(texts)
        with self._lock:
            m = self._check_mask(mask, len(texts), op)
            if self.joint.fitted:
                return self._decide_locked(phi, m)
            return self._decide_before_fit(phi, m, op)

    def _decide_before_fit(
        self, phi: np.ndarray, mask: np.ndarray | None, op: str
    ) -> list[Decision]:
        """Warm-up decisions while the PCA projection waits for its sample, then the fit."""
        n_left = self.policy.warmup - self.policy.n_selected
        if n_left <= 0 and len(self._warm_phi) < 2:
            raise ValueError(
                f"{op}: the PCA projection is not fitted; call fit_features(texts) first or "
                "use warmup >= 2 to fit it on the warm-up queries"
            )
        B = phi.shape[0]
        m = min(max(n_left, 0), B)
        out: list[Decision] = []
        if m:
            part = mask if mask is None or mask.ndim == 1 else mask[:m]
            out = self._decide_locked(phi[:m], part, raw=True)
        if self.policy.n_selected >= self.policy.warmup:
            self._fit_from_warmup()
        if m < B:
            part = mask if mask is None or mask.ndim == 1 else mask[m:]
            out += self._decide_locked(phi[m:], part)
        return out

    def _fit_from_warmup(self) -> None:
        """Fit PCA on the warm-up queries; replay early outcomes; convert raw pending rows."""
        self.joint.fit(np.stack(self._warm_phi))
        logger.info("router: PCA projection fitted on %s warm-up queries", len(self._warm_phi))
        for phi, arm_id, reward in self._warm_updates:
            try:
                idx = self.arm_space.index(arm_id)
            except KeyError:
                continue
            self.policy.update(self._row(phi, idx), idx, reward)
        for p in self.store.pending.values():
            if p.raw:
                try:
                    idx = self.arm_space.index(p.arm_id)
                except KeyError:
                    continue  # closes without an update anyway
                x = self._row(p.x, idx)
                x.setflags(write=False)
                p.x, p.raw = x, False
        self._warm_phi.clear()
        self._warm_updates.clear()

    def _row(self, phi: np.ndarray, idx: int) -> np.ndarray:
        """The policy's row for query features ``phi`` (p,) and arm ``idx``."""
        z1 = self.joint.transform_query(phi[None, :])
        if self.policy.context == "query":
            return z1[0]
        return JointFeaturizer.combine_tiled(z1, self._psi_tiled[idx : idx + 1])[0, 0]

    def _decide_locked(
        self, phi: np.ndarray, mask: np.ndarray | None, raw: bool = False
    ) -> list[Decision]:
        now = self.clock()
        if raw:
            # Before the PCA fit the policy is in warm-up: it draws uniformly and reads no
            # feature values, so zeros of the right shape stand in for them.
            shape = (phi.shape[0], self.n_arms, self.d)
            X = np.zeros(shape if self.policy.context == "joint" else shape[::2])
            penalty = None
        else:
            X = self._features(phi)
            penalty = self._penalty()
        sel = self.policy.select(X, mask, penalty, rng=self.rng)
        self.store.purge(now)
        if raw:
            self._warm_phi.extend(np.array(row) for row in phi)
        out = []
        for b in range(X.shape[0]):
            a = int(sel.arms[b])
            if raw:
                x = np.array(phi[b])
            else:
                x = np.array(X[b, a] if self.policy.context == "joint" else X[b])
            x.setflags(write=False)
            did = f"{self._tag}-{self._counter:x}"
            self._counter += 1
            arm = self.arm_space[a]
            self.store.add(did, Pending(arm.id, x, now, raw=raw))
            out.append(
                Decision(
                    did,
                    arm,
                    a,
                    _opt(sel.scores[b]),
                    _opt(sel.widths[b]),
                    _opt(sel.propensities[b]),
                    x,
                )
            )
        return out

    # -------------------------------------------------------------- feedback
    def feedback(
        self,
        decision_id: str,
        *,
        correct: bool | float | None = None,
        verifier: float | None = None,
        cost: float | None = None,
        final: bool = False,
    ) -> float | None:
        """Report (part of) an outcome.

        Parameters
        ----------
        decision_id : str
            From :attr:`Decision.id`.
        correct : bool or float in [0, 1], optional
        verifier : float in [0, 1], optional
        cost : float >= 0, optional
            Raw cost (tokens, eFLOPs or dollars: one unit for the whole router).
        final : bool
            Close the decision now even if weighted parts are missing (see
            :mod:`uniscale.router.reward`).

        Returns
        -------
        float or None
            The reward when this call completed the decision, else None (still waiting, or the
            decision was already closed: a repeated feedback is ignored, never counted twice).

        Raises
        ------
        uniscale.errors.UnknownDecisionError
            Unknown or expired id.
        """
        op = "Router.feedback"
        parts_in: dict[str, float] = {}
        c = _unit(correct, "correct", op)
        if c is not None:
            parts_in["correct"] = c
        v = _unit(verifier, "verifier", op)
        if v is not None:
            parts_in["verifier"] = v
        if cost is not None:
            if not isinstance(cost, (int, float, np.integer, np.floating)) or isinstance(
                cost, bool
            ):
                raise TypeError(f"{op}: cost must be a number, got {type(cost)!r}")
            cf = float(cost)
            if not math.isfinite(cf) or cf < 0:
                raise ValueError(f"{op}: cost must be finite and >= 0, got {cost!r}")
            parts_in["cost"] = cf
        if not isinstance(final, (bool, np.bool_)):
            raise TypeError(f"{op}: final must be a bool, got {type(final)!r}")
        final = bool(final)
        if not parts_in and not final:
            raise ValueError(f"{op}: give at least one of correct, verifier, cost, or final=True")
        with self._lock:
            now = self.clock()
            pending = self.store.get(decision_id, now, op)
            if pending is None:
                logger.debug("feedback for closed decision %s ignored", decision_id)
                return None
            for part, value in parts_in.items():
                if part in pending.parts:
                    if pending.parts[part] != value:
                        logger.warning(
                            "decision %s: second %s %s ignored (first was %s)",
                            decision_id,
                            part,
                            value,
                            pending.parts[part],
                        )
                    continue
                pending.parts[part] = value
                if part == "cost":
                    self._observe_cost(pending.arm_id, value)
            complete = all(p in pending.parts for p in self.reward.needed)
            if not (complete or final):
                return None
            return self._close(decision_id, pending)

    def _observe_cost(self, arm_id: str, cost: float) -> None:
        try:
            index: int | None = self.arm_space.index(arm_id)
        except KeyError:
            index = None  # the arm was removed meanwhile
        if cost > 0 and self.reward.cost_lo is None:
            if self.cost_lo is None or self.cost_hi is None:
                self.cost_lo, self.cost_hi = self._prior_bounds(index, cost)
                logger.info(
                    "router: cost bounds set to [%s, %s] from the first cost and the arms' "
                    "size hints",
                    self.cost_lo,
                    self.cost_hi,
                )
            else:
                self.cost_lo = min(self.cost_lo, cost)
                self.cost_hi = max(self.cost_hi, cost)
        if index is not None:
            self.costs.observe(index, cost)
        if self.budget is not None:
            self.budget.observe(cost)

    def _prior_bounds(self, index: int | None, cost: float) -> tuple[float, float]:
        """Bounds of the cost normalisation from the first positive cost ``cost`` of arm
        ``index``: every arm's cost is estimated a priori as ``cost * hint(a) / hint(index)``
        (hint = parameter count x samples), and the bounds are the cheapest and dearest
        estimates. Without a usable hint both bounds are ``cost``."""
        if index is None:
            return cost, cost
        hints = self._hints
        h = float(hints[index])
        if not (h > 0 and np.all(np.isfinite(hints)) and np.all(hints > 0)):
            return cost, cost
        # Ratios first, so that the arm's own cost is reproduced exactly (h / h == 1).
        lo = min(cost * (float(hints.min()) / h), cost)
        hi = max(cost * (float(hints.max()) / h), cost)
        if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo):
            return cost, cost
        return lo, hi
        if self.budget is not None:
            self.budget.observe(cost)

    def _close(self, decision_id: str, pending: Pending) -> float | None:
        parts = {k: v for k, v in pending.parts.items() if k != "cost"}
        if "cost" in pending.parts:
            parts["cost"] = float(self._normalize(pending.parts["cost"]))
        if not any(p in parts for p in self.reward.needed):
            logger.info("decision %s closed without any weighted outcome part", decision_id)
            self.store.close(decision_id, None)
            return None
        reward = self.reward.combine(parts)
        try:
            arm_index = self.arm_space.index(pending.arm_id)
        except KeyError:
            logger.info("decision %s: arm %s was removed; no update", decision_id, pending.arm_id)
            self.store.close(decision_id, reward)
            return reward
        if pending.raw:
            # Decided before the PCA fit: learn from it once the basis exists.
            self._warm_updates.append((pending.x, pending.arm_id, reward))
        else:
            self.policy.update(pending.x, arm_index, reward)
        self.store.close(decision_id, reward)
        return reward

    def summary(self) -> dict[str, Any]:
        """JSON-able counters for logs and metrics: decisions, updates, pending, expired, the
        budget price and mean cost, and per arm the observed cost count and mean."""
        with self._lock:
            count = self.costs.count
            mean = np.where(count > 0, self.costs.sum / np.maximum(count, 1), np.nan)
            return {
                "arms": len(self.arm_space),
                "policy": self.policy.name,
                "d": self.d,
                "decisions": self.policy.n_selected,
                "updates": self.policy.n_updates,
                "pending": len(self.store.pending),
                "expired": len(self.store.expired),
                "budget_lambda": None if self.budget is None else self.budget.lam,
                "budget_mean_cost": None if self.budget is None else self.budget.mean_cost,
                "cost_range": [self.cost_lo, self.cost_hi],
                "per_arm": [
                    {
                        "id": a.id,
                        "costs_seen": int(c),
                        "mean_cost": None if np.isnan(m) else float(m),
                    }
                    for a, c, m in zip(self.arm_space.arms, count, mean, strict=True)
                ],
            }

    def __repr__(self) -> str:
        return (
            f"Router({len(self.arm_space)} arms, policy={self.policy.name!r}, d={self.d}, "
            f"featurizer={self.featurizer.name!r}, decisions={self.policy.n_selected}, "
            f"updates={self.policy.n_updates}, pending={self.n_pending})"
        )

    @property
    def n_pending(self) -> int:
        return len(self.store.pending)

    # ----------------------------------------------------------- persistence
    def save(self, path: str | Path) -> None:
        """Write the whole state to directory ``path`` atomically (see
        :mod:`uniscale.router.persistence`)."""
        from uniscale.router.persistence import save_router

        with self._lock:
            save_router(self, path)

    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        clock: Callable[[], float] | None = None,
        featurizer: Any = None,
    ) -> Router:
        """Rebuild a router saved with :meth:`save`.

        ``featurizer``: pass the object again when the router was built with a custom query
        featurizer (only the registry's are rebuilt from their saved config); its ``name`` and
        ``out_dim`` must match the saved ones.
        """
        from uniscale.router.persistence import load_router

        return load_router(path, clock=clock, featurizer=featurizer)


def _opt(value: float) -> float | None:
    v = float(value)
    return None if math.isnan(v) else v
