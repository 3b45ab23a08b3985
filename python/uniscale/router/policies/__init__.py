"""Arm-choosing policies behind one interface (:class:`Policy`), and a registry by name.

See :mod:`uniscale.router.policies.base` for the contract (``select`` / ``update``), which the
replay engine drives directly for speed.
"""

from __future__ import annotations

from typing import Any

from uniscale.router.policies.base import CONTEXTS, Policy, Selection
from uniscale.router.policies.disjoint import DisjointLinUCBPolicy
from uniscale.router.policies.epsilon_greedy import EpsilonGreedyPolicy
from uniscale.router.policies.fixed import FixedArmPolicy
from uniscale.router.policies.linucb import GreedyPolicy, LinUCBPolicy
from uniscale.router.policies.random import RandomPolicy
from uniscale.router.policies.thompson import LinearThompsonPolicy

__all__ = [
    "CONTEXTS",
    "POLICIES",
    "DisjointLinUCBPolicy",
    "EpsilonGreedyPolicy",
    "FixedArmPolicy",
    "GreedyPolicy",
    "LinUCBPolicy",
    "LinearThompsonPolicy",
    "Policy",
    "RandomPolicy",
    "Selection",
    "make_policy",
]

#: Registry: policy name -> class.
POLICIES: dict[str, type[Policy]] = {
    cls.name: cls
    for cls in (
        LinUCBPolicy,
        DisjointLinUCBPolicy,
        GreedyPolicy,
        EpsilonGreedyPolicy,
        LinearThompsonPolicy,
        RandomPolicy,
        FixedArmPolicy,
    )
}


def make_policy(name: str, **kwargs: Any) -> Policy:
    """Build a policy by registry name (``"linucb"``, ``"disjoint"``, ``"greedy"``,
    ``"epsilon_greedy"``, ``"thompson"``, ``"random"``, ``"fixed"``) with its constructor kwargs."""
    try:
        cls = POLICIES[name]
    except KeyError:
        raise ValueError(
            f"make_policy: unknown policy {name!r}, expected one of {sorted(POLICIES)}"
        ) from None
    return cls(**kwargs)
