"""Decisions and the store of decisions that wait for feedback.

A :class:`Decision` is what :meth:`Router.decide` returns. Until its reward is complete it stays
*pending* in a :class:`DecisionStore` with the features the policy saw, the arm it chose, and the
outcome parts received so far. Pending decisions older than the TTL expire (feedback for them
raises :class:`~uniscale.errors.UnknownDecisionError`). Closed ids are remembered (the most recent
``keep_closed``) so that a repeated feedback for a closed decision is recognised and ignored
instead of being counted twice or reported as unknown.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from uniscale.errors import UnknownDecisionError
from uniscale.router.arms import Arm

logger = logging.getLogger(__name__)

__all__ = ["Decision", "Pending", "DecisionStore"]


@dataclass(frozen=True)
class Decision:
    """One routing decision.

    Attributes
    ----------
    id : str
        Pass it back to :meth:`Router.feedback`.
    arm : Arm
        The chosen arm.
    arm_index : int
        Its index in the arm space at decision time.
    score : float or None
        The value the policy maximised (None where it has none: warm-up, random, fixed).
    width : float or None
        Confidence width ``sqrt(x^T A^{-1} x)`` of the chosen arm (None without a linear model).
    propensity : float or None
        Probability of this choice under the policy (None where unknown; see
        :class:`uniscale.router.policies.Selection`).
    features : np.ndarray, float64, shape (d,)
        The feature row the policy read for this arm (read-only); for a decision made before
        the router's PCA projection was fitted, the query features phi (p,) instead.
    """

    id: str
    arm: Arm
    arm_index: int
    score: float | None
    width: float | None
    propensity: float | None
    features: np.ndarray = field(repr=False)


@dataclass
class Pending:
    """A decision waiting for feedback: features, arm id, creation time and parts so far.

    ``raw`` marks a decision made before the router's PCA projection was fitted: ``x`` then
    holds the query features phi (p,), turned into the policy's row once the fit is done.
    """

    arm_id: str
    x: np.ndarray
    created: float
    parts: dict[str, float] = field(default_factory=dict)
    raw: bool = False


class DecisionStore:
    """Pending decisions by id (oldest first), plus recently closed and expired ids."""

    def __init__(self, ttl_s: float, keep_closed: int = 100_000) -> None:
        self.ttl_s = float(ttl_s)
        self.keep_closed = int(keep_closed)
        self.pending: OrderedDict[str, Pending] = OrderedDict()
        self.closed: OrderedDict[str, float | None] = OrderedDict()
        self.expired: OrderedDict[str, None] = OrderedDict()

    def add(self, decision_id: str, pending: Pending) -> None:
        self.pending[decision_id] = pending

    def purge(self, now: float) -> int:
        """Drop pending decisions older than the TTL; returns how many."""
        n = 0
        while self.pending:
            key, p = next(iter(self.pending.items()))
            if now - p.created < self.ttl_s:
                break
            del self.pending[key]
            self._remember(self.expired, key, None)
            n += 1
        if n:
            logger.info("%s pending decision(s) expired without a complete reward", n)
        return n

    def get(self, decision_id: str, now: float, op: str) -> Pending | None:
        """The pending record; None when the id was already closed; raises when unknown/expired."""
        if not isinstance(decision_id, str):
            raise TypeError(f"{op}: decision_id must be a str, got {type(decision_id)!r}")
        p = self.pending.get(decision_id)
        if p is not None:
            if now - p.created >= self.ttl_s:
                raise UnknownDecisionError(
                    f"{op}: decision {decision_id!r} expired (older than ttl_s={self.ttl_s:g})"
                )
            return p
        if decision_id in self.closed:
            return None
        if decision_id in self.expired:
            raise UnknownDecisionError(
                f"{op}: decision {decision_id!r} expired (older than ttl_s={self.ttl_s:g})"
            )
        raise UnknownDecisionError(f"{op}: unknown decision id {decision_id!r}")

    def close(self, decision_id: str, reward: float | None) -> None:
        self.pending.pop(decision_id, None)
        self._remember(self.closed, decision_id, reward)

    def _remember(self, od: OrderedDict, key: str, value: Any) -> None:
        od[key] = value
        while len(od) > self.keep_closed:
            od.popitem(last=False)

    # ------------------------------------------------------------------ state
    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta = {
            "ttl_s": self.ttl_s,
            "keep_closed": self.keep_closed,
            "pending": [
                {"id": k, "arm_id": p.arm_id, "created": p.created, "parts": p.parts, "raw": p.raw}
                for k, p in self.pending.items()
            ],
            "closed": [[k, v] for k, v in self.closed.items()],
            "expired": list(self.expired),
        }
        # Rows of the policy and raw query features have different widths: two arrays.
        arrays = {}
        for name, raw in (("pending_x", False), ("pending_phi", True)):
            rows = [p.x for p in self.pending.values() if p.raw == raw]
            arrays[name] = np.stack(rows) if rows else np.zeros((0, 0))
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> DecisionStore:
        store = cls(meta["ttl_s"], meta["keep_closed"])
        rows = {False: iter(arrays["pending_x"]), True: iter(arrays["pending_phi"])}
        n_raw = sum(bool(rec.get("raw", False)) for rec in meta["pending"])
        if (
            len(meta["pending"]) - n_raw != arrays["pending_x"].shape[0]
            or n_raw != arrays["pending_phi"].shape[0]
        ):
            raise ValueError("DecisionStore.from_state: pending records and features disagree")
        for rec in meta["pending"]:
            _check_record(rec)
            raw = bool(rec.get("raw", False))
            store.pending[rec["id"]] = Pending(
                rec["arm_id"],
                np.array(next(rows[raw])),
                float(rec["created"]),
                dict(rec["parts"]),
                raw,
            )
        for k, v in meta["closed"]:
            if not isinstance(k, str) or not (v is None or _finite(v)):
                raise ValueError(
                    f"store.closed: entries must be [id, reward or null], got {[k, v]!r:.80}"
                )
        store.closed = OrderedDict((k, v) for k, v in meta["closed"])
        store.expired = OrderedDict((k, None) for k in meta["expired"])
        return store


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)


def _check_record(rec: Any) -> None:
    """One saved pending decision: id, arm id, creation time and outcome parts in range."""
    if not isinstance(rec, dict) or not isinstance(rec.get("id"), str):
        raise ValueError(f"store.pending: each record needs a str 'id', got {rec!r:.80}")
    if not isinstance(rec.get("arm_id"), str) or not _finite(rec.get("created")):
        raise ValueError(f"store.pending[{rec['id']!r}]: bad 'arm_id' or 'created' in {rec!r:.80}")
    parts = rec.get("parts")
    if not isinstance(parts, dict):
        raise ValueError(f"store.pending[{rec['id']!r}].parts must be an object, got {parts!r}")
    for name, v in parts.items():
        ok = _finite(v) and (v >= 0 if name == "cost" else 0 <= v <= 1)
        if name not in ("correct", "verifier", "cost") or not ok:
            raise ValueError(
                f"store.pending[{rec['id']!r}].parts[{name!r}]: expected correct/verifier in "
                f"[0, 1] or cost >= 0, got {v!r}"
            )
