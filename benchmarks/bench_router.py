"""Latency of Router.decide at K = 168 arms, d = 64: with and without query featurization.

Providers measured in one run (per single request, B = 1, unless noted):

* ``decide[hashed]`` / ``decide[minilm]``: ``Router.decide(text)`` end to end (featurize + joint
  map + score + select + bookkeeping);
* ``featurize[hashed]`` / ``featurize[minilm]``: the query featurizer alone;
* ``decide_no_featurize``: everything in decide except the query featurizer (phi precomputed);
* ``policy.select``: the policy alone on precomputed joint features X (1, 168, 64);
* ``core.select``: ``uniscale.LinUCB.select`` alone on X; ``reference``: the numpy
  ``LinUCBReference`` scores + argmax on X (the baseline the compiled core replaces);
* ``policy.select B=64``: per-request time of a batch of 64 requests.

Each provider gets a warm-up, then ``--repeats`` timed calls; p50 and p99 in microseconds.
The policies are trained on ``--train`` random outcomes first, so the models are not trivial.

    python benchmarks/bench_router.py [--repeats 2000] [--no-minilm] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from uniscale.router import ArmSpace, MiniLMFeaturizer, ModelEntry, Router, StrategyEntry

QUESTIONS = [
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips "
    "to her friends in May. How many clips did Natalia sell altogether in April and May?",
    "Find the remainder when $2^{100}$ is divided by 7.",
    "A rectangle has perimeter 30 and area 56. What is the length of its diagonal?",
    "Weng earns $12 an hour for babysitting. Yesterday, she just did 50 minutes of "
    "babysitting. How much did she earn?",
]


def paper_space() -> ArmSpace:
    """6 Qwen3 sizes x beam search with qp*cp <= 64, bs == cp: 168 arms."""
    pow2 = [1, 2, 4, 8, 16, 32, 64]
    return ArmSpace(
        [ModelEntry(f"qwen3-{s}b", params=s * 1e9) for s in (0.6, 1.7, 4, 8, 14, 32)],
        [
            StrategyEntry(
                "beam",
                "beam_search",
                grid={"qp": pow2, "cp": pow2, "bs": pow2},
                constraints=("qp * cp <= 64", "bs == cp"),
            )
        ],
    )


def timeit(fn: Callable[[], object], repeats: int, warmup: int) -> dict[str, float]:
    for _ in range(warmup):
        fn()
    t = np.empty(repeats)
    for i in range(repeats):
        t0 = time.perf_counter_ns()
        fn()
        t[i] = time.perf_counter_ns() - t0
    t /= 1e3
    return {
        "p50_us": float(np.percentile(t, 50)),
        "p99_us": float(np.percentile(t, 99)),
        "mean_us": float(t.mean()),
        "min_us": float(t.min()),
        "n": repeats,
    }


def make_router(featurizer: object, policy: str, train: int, seed: int = 0) -> Router:
    # A vocabulary of two strategy kinds gives q = 7 arm features and d = (7+1)(7+1) = 64.
    r = Router(
        paper_space(),
        policy=policy,
        featurizer=featurizer,
        warmup=0,
        seed=seed,
        arm_features={"kinds": ("single", "beam_search")},
    )
    rng = np.random.default_rng(seed)
    for i in range(train):
        d = r.decide(QUESTIONS[i % len(QUESTIONS)] + f" ({i})")
        r.feedback(
            d.id,
            correct=bool(rng.random() < 0.5),
            verifier=float(rng.random()),
            cost=float(rng.uniform(1, 100)),
        )
    return r


def git_sha() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--train", type=int, default=500)
    ap.add_argument("--no-minilm", action="store_true", help="skip the MiniLM featurizer")
    ap.add_argument("--minilm-repeats", type=int, default=200)
    ap.add_argument("--json", type=Path, default=None, help="also write the records here")
    args = ap.parse_args()

    from uniscale.bandit import LinUCBReference

    rows: list[dict[str, object]] = []

    def record(provider: str, stats: dict[str, float], **extra: object) -> None:
        rows.append({"provider": provider, **stats, **extra})
        print(
            f"{provider:40s} p50 {stats['p50_us']:10.1f} us   p99 {stats['p99_us']:10.1f} us"
            f"   min {stats['min_us']:10.1f} us"
        )

    texts = [q + f" #{i}" for i, q in enumerate(QUESTIONS * 4)]
    counter = {"i": 0}

    def next_text() -> str:
        counter["i"] += 1
        return texts[counter["i"] % len(texts)]

    for policy in ("linucb", "thompson", "disjoint"):
        r = make_router("hashed", policy, args.train)
        K, d = r.n_arms, r.d
        pending: list[str] = []

        def decide(router: Router = r, pending: list[str] = pending) -> None:
            pending.append(router.decide(next_text()).id)
            if len(pending) > 256:  # keep the pending store at a realistic size
                for did in pending:
                    router.feedback(did, final=True)
                pending.clear()

        record(
            f"decide[hashed] {policy}",
            timeit(decide, args.repeats, args.warmup),
            K=K,
            d=d,
            policy=policy,
        )
        phi = r.featurizer.transform([QUESTIONS[0]])

        def decide_nofeat(router: Router = r, phi: np.ndarray = phi) -> None:
            with router._lock:
                ds = router._decide_locked(phi, None)
            router.store.close(ds[0].id, None)

        record(
            f"decide_no_featurize {policy}",
            timeit(decide_nofeat, args.repeats, args.warmup),
            K=K,
            d=d,
            policy=policy,
        )
        X = r._features(phi)
        record(
            f"policy.select {policy}",
            timeit(lambda X=X, r=r: r.policy.select(X), args.repeats, args.warmup),
            K=K,
            d=d,
            policy=policy,
        )
        XB = np.repeat(X, 64, axis=0)
        st = timeit(lambda XB=XB, r=r: r.policy.select(XB), max(args.repeats // 10, 50), 20)
        st = {k: (v / 64 if k.endswith("_us") else v) for k, v in st.items()}
        record(f"policy.select B=64 (per req) {policy}", st, K=K, d=d, policy=policy)
        if policy == "linucb":
            record(
                "core.select linucb",
                timeit(lambda X=X, r=r: r.policy.core.select(X), args.repeats, args.warmup),
                K=K,
                d=d,
            )
            ref = LinUCBReference.from_state_dict(r.policy.core.state_dict())

            def ref_select(X: np.ndarray = X, ref=ref) -> None:
                mean, width = ref.scores(X)
                np.argmax(mean + ref.alpha * width, axis=1)

            record(
                "reference scores+argmax linucb",
                timeit(ref_select, args.repeats // 4, 50),
                K=K,
                d=d,
            )
        record(
            "featurize[hashed]",
            timeit(lambda r=r: r.featurizer.transform([next_text()]), args.repeats, args.warmup),
        ) if policy == "linucb" else None

    if not args.no_minilm:
        for backend in ("onnx", "torch"):
            r = make_router(MiniLMFeaturizer(backend=backend), "linucb", 20)
            r.featurizer.transform(["load the model"])
            record(
                f"featurize[minilm-{backend}]",
                timeit(lambda r=r: r.featurizer.transform([next_text()]), args.minilm_repeats, 10),
            )

            def decide_minilm(r: Router = r) -> None:
                r.feedback(r.decide(next_text()).id, final=True)

            record(
                f"decide[minilm-{backend}] linucb",
                timeit(decide_minilm, args.minilm_repeats, 10),
                K=r.n_arms,
                d=r.d,
            )

    by = {row["provider"]: row for row in rows}
    # Share of the embedding in one decision: featurize / (featurize + decide without it), from
    # p50s measured separately (robust to the noise that makes decide - featurize unreliable).
    rest = by["decide_no_featurize linucb"]["p50_us"]
    for feat in ("hashed", "minilm-onnx", "minilm-torch"):
        f = by.get(f"featurize[{feat}]")
        if f:
            share = f["p50_us"] / (f["p50_us"] + rest)
            print(f"embedding share of a decision [{feat}]: {100 * share:.1f} %")
            rows.append({"provider": f"share[{feat}]", "share_p50": share})
    meta = {
        "machine": platform.platform(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "git": git_sha(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "loadavg_1min": os.getloadavg()[0],
    }
    print(json.dumps(meta))
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
