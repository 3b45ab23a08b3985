"""Contextual bandits: LinUCB on the compiled core, and numpy references with the same API.

``LinUCB`` shares one ridge regression over joint request-arm features X (B, K, d);
``DisjointLinUCB`` keeps one per arm over request contexts X (B, d). Both score
``ucb = mean + alpha * width`` with ``mean = theta^T x`` and ``width = sqrt(x^T A^{-1} x)``.
``LinUCBReference`` and ``DisjointLinUCBReference`` are the plain numpy versions: the test
oracle and the benchmark baseline.
"""

from __future__ import annotations

from uniscale.bandit.disjoint import DisjointLinUCB
from uniscale.bandit.linucb import LinUCB
from uniscale.bandit.reference import DisjointLinUCBReference, LinUCBReference
from uniscale.bandit.state import FORMAT_VERSION

__all__ = [
    "FORMAT_VERSION",
    "DisjointLinUCB",
    "DisjointLinUCBReference",
    "LinUCB",
    "LinUCBReference",
]
