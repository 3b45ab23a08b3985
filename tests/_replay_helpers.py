"""Small synthetic traces for the replay tests (not a test module)."""

from __future__ import annotations

import numpy as np

from uniscale.replay.trace import Outcome, Trace, TraceConfig, TraceModel, TraceQuery


def make_trace(
    n_queries: int = 12,
    *,
    seed: int = 0,
    samples: dict[str, int] | None = None,
    skill: dict[str, float] | None = None,
) -> Trace:
    """A trace with a cheap model ("small", two configs) and a dear one ("big", one config).

    Each sample is right with the config's skill; wrong samples scatter over three wrong answers.
    Token counts vary by sample so that costs depend on which samples are drawn.
    """
    rng = np.random.default_rng(seed)
    samples = samples or {"small|a": 10, "small|b": 6, "big|a": 3}
    skill = skill or {"small|a": 0.5, "small|b": 0.35, "big|a": 0.9}
    models = {"small": TraceModel(1e9, 0.001, 0.002, 1000.0), "big": TraceModel(None, 0.03, 0.06)}
    configs = tuple(
        TraceConfig(cid, cid.split("|")[0], "cot", cid.split("|")[1]) for cid in samples
    )
    queries = []
    for q in range(n_queries):
        gold = str(q)
        outcomes = {}
        for cid, m in samples.items():
            right = rng.random(m) < skill[cid]
            answers = tuple(gold if r else f"w{rng.integers(3)}" for r in right)
            tokens = tuple(int(t) for t in rng.integers(20, 80, size=m))
            outcomes[cid] = Outcome(answers, tuple(bool(r) for r in right), tokens, 100 + q)
        queries.append(
            TraceQuery(str(q), f"question number {q} about {'ab'[q % 2]}", gold, outcomes)
        )
    return Trace("synthetic", "exact", models, configs, tuple(queries), "test")
