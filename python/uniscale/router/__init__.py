"""The router: arm spaces, features, rewards and budget, policies, decisions, persistence.

``Router.decide(request) -> Decision`` and ``Router.feedback(decision_id, ...)`` are what a server
embeds; :mod:`uniscale.router.policies` is the lower-level array interface replay drives directly.
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
