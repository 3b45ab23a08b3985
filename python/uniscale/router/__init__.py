"""The router: arm spaces, features, rewards and budget, policies, decisions, persistence.

``Router.decide(request) -> Decision`` and ``Router.feedback(decision_id, ...)`` are what a server
embeds; :mod:`uniscale.router.policies` is the lower-level array interface replay drives directly.

Example::

    from uniscale.router import ArmSpace, Router

    router = Router(ArmSpace.from_file("arms.yaml"), reward="cost_sensitive", seed=0)
    d = router.decide("What is 17 * 23?", mask=router.mask(models=["qwen3-4b", "qwen3-8b"]))
    ...  # run d.arm (d.arm.model, d.arm.kind, d.arm.params)
    router.feedback(d.id, cost=1.3e12)                    # now
    router.feedback(d.id, correct=True, verifier=0.9)     # later: completes, updates once
    router.save("state/")                                 # Router.load("state/") resumes exactly
"""

from __future__ import annotations

from uniscale.router.arm_features import ArmFeaturizer
from uniscale.router.arms import STRATEGY_KINDS, Arm, ArmSpace, ModelEntry, StrategyEntry
from uniscale.router.budget import BudgetConfig, BudgetController
from uniscale.router.decisions import Decision
from uniscale.router.features import make_query_featurizer
from uniscale.router.hashed import HashedFeaturizer
from uniscale.router.joint import JointFeaturizer
from uniscale.router.minilm import MiniLMFeaturizer
from uniscale.router.policies import (
    POLICIES,
    DisjointLinUCBPolicy,
    EpsilonGreedyPolicy,
    FixedArmPolicy,
    GreedyPolicy,
    LinearThompsonPolicy,
    LinUCBPolicy,
    Policy,
    RandomPolicy,
    Selection,
    make_policy,
)
from uniscale.router.reward import PRESETS, RewardConfig
from uniscale.router.router import Router

__all__ = [
    "POLICIES",
    "PRESETS",
    "STRATEGY_KINDS",
    "Arm",
    "ArmFeaturizer",
    "ArmSpace",
    "BudgetConfig",
    "BudgetController",
    "Decision",
    "DisjointLinUCBPolicy",
    "EpsilonGreedyPolicy",
    "FixedArmPolicy",
    "GreedyPolicy",
    "HashedFeaturizer",
    "JointFeaturizer",
    "LinUCBPolicy",
    "LinearThompsonPolicy",
    "MiniLMFeaturizer",
    "ModelEntry",
    "Policy",
    "RandomPolicy",
    "RewardConfig",
    "Router",
    "Selection",
    "StrategyEntry",
    "make_policy",
    "make_query_featurizer",
]
