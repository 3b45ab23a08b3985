"""Benchmark of the LinUCB core against the numpy reference, MABWiser and numpy's own matmul.

One run measures, for the shared model (X of shape (B, K, d)) and the disjoint model (contexts
(B, d), K arms), over the grid K in {16, 168, 1024}, d in {16, 64, 256}, B in {1, 64, 1024}:

* ``core``      uniscale.bandit.LinUCB / DisjointLinUCB ``select`` (scores + argmax in one call)
* ``reference`` the numpy reference of the same model, same call
* ``mabwiser``  MABWiser's LinUCB ``predict`` (disjoint model only; it has no shared model)
* ``matmul``    numpy matmul with the same flop count, the practical limit of the machine:
  (B K, d) @ (d, d) for the shared model, (B, d) @ (d, K d) for the disjoint one, with BLAS's
  default threads and with one thread (``matmul-1t``, through threadpoolctl when installed); the
  ratio to matmul is taken against the faster of the two

and, per (K, d), the update throughput (batched and one observation per call).

Flops per decision batch are counted as 2 B K d^2 (the X A^{-1} product; the mean and the row
dot products add 4 B K d, left out). A provider whose arrays would pass ``--max-gib``, or whose
call would take longer than ``--max-call-s`` judging from the previous B, is skipped and listed
as such. Timings are medians and 99th percentiles over repeated calls after warm-up;
every record carries the machine, the git commit and the load average.

Examples
--------
python benchmarks/bench_linucb.py --quick
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_linucb.py \
    --json benchmarks/results/linucb.json --md benchmarks/results/linucb_table.md
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from uniscale import _core
from uniscale.bandit import DisjointLinUCB, DisjointLinUCBReference, LinUCB, LinUCBReference

logger = logging.getLogger("bench_linucb")

GIB = 1 << 30


@dataclass
class Record:
    model: str
    provider: str
    dtype: str
    K: int
    d: int
    B: int
    status: str = "ok"  # or "skipped: why"
    n_calls: int = 0
    call_us_p50: float | None = None
    call_us_p99: float | None = None
    cpu_us_p50: float | None = None  # CPU time of the process per call (all its threads)
    us_per_decision_p50: float | None = None
    us_per_decision_p99: float | None = None
    decisions_per_s: float | None = None
    gflops: float | None = None
    ratio_to_matmul: float | None = None
    state_bytes: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class UpdateRecord:
    model: str
    provider: str
    K: int
    d: int
    batch: int
    status: str = "ok"
    n_updates: int = 0
    updates_per_s: float | None = None
    updates_per_cpu_s: float | None = None  # per second of the process's CPU time


def machine_info() -> dict[str, Any]:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "csrc", "python"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        ).stdout.strip()
        sha += "+dirty" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        sha = "unknown"
    try:
        from importlib.metadata import version

        mab_version = version("mabwiser")
    except ImportError:
        mab_version = None
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "mabwiser": mab_version,
        "core_isa": _core.isa(),
        "core_threads": _core.max_threads(),
        "git_sha": sha,
        "date_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "<unset>"),
        "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE", "<unset>"),
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "<unset>"),
        "loadavg_start": os.getloadavg(),
    }


def measure(
    fn: Callable[[], Any], budget_s: float, max_calls: int = 20000
) -> tuple[np.ndarray, np.ndarray]:
    """Wall and CPU seconds per call after warm-up: about ``budget_s`` of calls, at least 3 (1 if
    a call takes more than 4 budgets)."""
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    n = 1
    if first <= 4 * budget_s:
        warm = time.perf_counter()
        while time.perf_counter() - warm < min(0.05, budget_s / 4):
            fn()
        n = int(min(max_calls, max(3, budget_s / max(first, 1e-7))))
    wall, cpu = np.empty(n), np.empty(n)
    for i in range(n):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        wall[i], cpu[i] = time.perf_counter() - t0, time.process_time() - c0
    return wall, cpu


def single_thread_blas():
    """A context manager limiting BLAS to one thread, or None without threadpoolctl."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(limits=1, user_api="blas")


def fill(rec: Record, timed: tuple[np.ndarray, np.ndarray], flops: float) -> None:
    times, cpu = timed
    rec.cpu_us_p50 = float(np.median(cpu)) * 1e6
    rec.n_calls = int(times.size)
    p50, p99 = float(np.median(times)), float(np.percentile(times, 99))
    rec.call_us_p50, rec.call_us_p99 = p50 * 1e6, p99 * 1e6
    rec.us_per_decision_p50 = rec.call_us_p50 / rec.B
    rec.us_per_decision_p99 = rec.call_us_p99 / rec.B
    rec.decisions_per_s = rec.B / p50
    rec.gflops = flops / p50 / 1e9


def trained_state(model: str, K: int, d: int, rng: np.random.Generator):
    """Data to warm a model so that A^{-1} and theta are not the identity and zero."""
    n = max(2 * K, 256) if model == "disjoint" else 256
    X = rng.normal(size=(n, d)) / np.sqrt(d)
    arms = rng.integers(0, K, size=n)
    arms[:K] = np.arange(K) if n >= K else arms[:K]
    return arms, X, rng.normal(size=n)


def mabwiser_model(K: int, d: int, arms, X, r):
    from mabwiser.mab import MAB, LearningPolicy

    mab = MAB(arms=list(range(K)), learning_policy=LearningPolicy.LinUCB(alpha=1.0, l2_lambda=1.0))
    mab.fit(decisions=arms, rewards=r, contexts=X)
    return mab


def mabwiser_bytes(mab) -> int:
    total = 0
    for m in mab._imp.arm_to_model.values():
        for v in vars(m).values():
            if isinstance(v, np.ndarray):
                total += v.nbytes
    return total


# (model, provider, dtype, K, d) -> (B, seconds per call) of the last measurement, to skip calls
# that would take longer than --max-call-s at the next, larger B.
_LAST: dict[tuple, tuple[int, float]] = {}


def run_scoring(
    args, model: str, dtype: str, K: int, d: int, B: int, rng, providers
) -> list[Record]:
    s = np.dtype(dtype).itemsize
    flops = 2.0 * B * K * d * d
    out: list[Record] = []
    limit = args.max_gib * GIB
    if model == "shared":
        X_bytes = B * K * d * s
        mem = {
            "core": X_bytes + 2 * B * K * s,
            "reference": 3 * B * K * d * 8 + X_bytes,
            "matmul": 2 * X_bytes,
        }
    else:
        state = 2 * K * d * d * 8
        mem = {
            "core": state + (K * d * d * 4 if dtype == "float32" else 0) + 2 * B * K * s,
            "reference": state + 2 * 8 * (1 << 23) + 2 * B * K * 8,
            "mabwiser": 2 * state + B * K * 8 * 4,
            "matmul": (B * d + d * K * d + B * K * d) * s,
        }
    arms, Xw, rw = trained_state(model, K, d, rng)
    matmul_gflops = None
    for prov in providers:
        if prov not in mem or (prov != "core" and prov != "matmul" and dtype != "float64"):
            continue
        rec = Record(model, prov, dtype, K, d, B)
        if mem[prov] > limit:
            rec.status = f"skipped: needs ~{mem[prov] / GIB:.1f} GiB > {args.max_gib:g} GiB"
            out.append(rec)
            continue
        key = (model, prov, dtype, K, d)
        # Only the slow baselines are extrapolated: their time grows with B, while the core at
        # small B is bound by reading the state and says little about larger B.
        if key in _LAST and prov in ("reference", "mabwiser"):
            prev_B, prev_s = _LAST[key]
            guess = prev_s * B / prev_B
            if guess > args.max_call_s:
                rec.status = (
                    f"skipped: ~{guess:.0f} s per call expected (from B={prev_B}) "
                    f"> {args.max_call_s:g} s"
                )
                out.append(rec)
                continue
        gc.collect()
        if prov == "matmul":
            if model == "shared":
                Xm = rng.normal(size=(B * K, d)).astype(dtype)
                W = rng.normal(size=(d, d)).astype(dtype)
            else:
                Xm = rng.normal(size=(B, d)).astype(dtype)
                W = rng.normal(size=(d, K * d)).astype(dtype)
            Y = np.empty((Xm.shape[0], W.shape[1]), dtype)
            fill(rec, measure(lambda Xm=Xm, W=W, Y=Y: np.matmul(Xm, W, out=Y), args.budget), flops)
            rec.extra["blas_threads"] = "default"
            best = rec.gflops
            # OpenBLAS threads spin while they wait; on a shared, oversubscribed machine one
            # thread can be much faster. The better of the two is the practical limit.
            one = single_thread_blas()
            if one is not None:
                with one:
                    rec1 = Record(model, "matmul-1t", dtype, K, d, B)
                    fill(
                        rec1,
                        measure(lambda Xm=Xm, W=W, Y=Y: np.matmul(Xm, W, out=Y), args.budget),
                        flops,
                    )
                rec1.extra["blas_threads"] = 1
                out.append(rec1)
                best = max(best, rec1.gflops)
            matmul_gflops = best
            del Xm, W, Y
        else:
            Xq = rng.normal(size=(B, K, d) if model == "shared" else (B, d)) / np.sqrt(d)
            if prov == "core":
                Xq = Xq.astype(dtype)
                m = (
                    LinUCB(d, dtype=dtype)
                    if model == "shared"
                    else DisjointLinUCB(K, d, dtype=dtype)
                )
                m.update(None if model == "shared" else arms, Xw, rw)
                fn = lambda m=m, Xq=Xq: m.select(Xq)  # noqa: E731
                rec.state_bytes = m.state_bytes
            elif prov == "reference":
                m = LinUCBReference(d) if model == "shared" else DisjointLinUCBReference(K, d)
                m.update(None if model == "shared" else arms, Xw, rw)
                fn = lambda m=m, Xq=Xq: m.select(Xq)  # noqa: E731
                rec.state_bytes = m.state_bytes
            else:
                m = mabwiser_model(K, d, arms, Xw, rw)
                fn = lambda m=m, Xq=Xq: m.predict(Xq)  # noqa: E731
                rec.state_bytes = mabwiser_bytes(m)
            fill(rec, measure(fn, args.budget), flops)
            del m, Xq, fn
        if rec.call_us_p50 is not None:
            _LAST[key] = (B, rec.call_us_p50 * 1e-6)
        out.append(rec)
    for rec in out:
        if rec.gflops is not None and matmul_gflops:
            rec.ratio_to_matmul = rec.gflops / matmul_gflops
    return out


def run_updates(args, model: str, K: int, d: int, rng, providers) -> list[UpdateRecord]:
    out = []
    n_batch = args.update_batch
    for prov in providers:
        if prov == "matmul" or (prov == "mabwiser" and model == "shared"):
            continue
        state = 2 * (K if model == "disjoint" else 1) * d * d * 8
        for batch in (n_batch, 1):
            rec = UpdateRecord(model, prov, K, d, batch)
            if state * (2 if prov == "mabwiser" else 1) > args.max_gib * GIB:
                rec.status = "skipped: state too large"
                out.append(rec)
                continue
            if prov == "mabwiser" and batch != 1:
                continue  # MABWiser's partial_fit re-inverts each touched arm: measured per call
            gc.collect()
            n = batch if batch > 1 else args.single_updates
            X = rng.normal(size=(n, d)) / np.sqrt(d)
            r = rng.normal(size=n)
            arms = rng.integers(0, K, size=n)
            warm_arms, Xw, rw = trained_state(model, K, d, rng)
            if prov == "core":
                m = LinUCB(d) if model == "shared" else DisjointLinUCB(K, d)
            elif prov == "reference":
                m = LinUCBReference(d) if model == "shared" else DisjointLinUCBReference(K, d)
            else:
                m = mabwiser_model(K, d, warm_arms, Xw, rw)
            a_arg = None if model == "shared" else arms
            if prov == "mabwiser":

                def step(i, m=m, arms=arms, X=X, r=r):
                    m.partial_fit([int(arms[i])], r[i : i + 1], X[i : i + 1])
            else:

                def step(i, m=m, a_arg=a_arg, X=X, r=r):
                    m.update(
                        None if a_arg is None else a_arg[i : i + 1], X[i : i + 1], r[i : i + 1]
                    )

            deadline = args.budget * 4
            if batch > 1:
                if prov == "reference":  # a Python loop per observation: time a slice of it
                    n_ref = max(16, min(n, int(2000 * (64 / d) ** 2)))
                    c0, t0 = time.process_time(), time.perf_counter()
                    m.update(None if a_arg is None else a_arg[:n_ref], X[:n_ref], r[:n_ref])
                    dt, done = time.perf_counter() - t0, n_ref
                else:
                    m.update(a_arg, X, r)  # warm-up
                    c0, t0 = time.process_time(), time.perf_counter()
                    reps = 0
                    while reps < 3 or (time.perf_counter() - t0 < deadline and reps < 50):
                        m.update(a_arg, X, r)
                        reps += 1
                    dt, done = time.perf_counter() - t0, reps * n
            else:
                step(0)
                c0, t0 = time.process_time(), time.perf_counter()
                done = 0
                while done < n and (done < 3 or time.perf_counter() - t0 < deadline):
                    step(done)
                    done += 1
                dt = time.perf_counter() - t0
            cpu = time.process_time() - c0
            rec.n_updates = done
            rec.updates_per_s = done / dt
            rec.updates_per_cpu_s = done / cpu if cpu > 0 else None
            out.append(rec)
            del m
    return out


def fmt(v: float | None, digits: int = 3) -> str:
    if v is None:
        return "–"
    if v == 0:
        return "0"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}g}"


def markdown(info: dict, recs: list[Record], ups: list[UpdateRecord], command: str) -> str:
    lines = ["## Machine", ""]
    for k, v in info.items():
        lines.append(f"- {k}: {v}")
    lines += [
        "",
        f"Command: `{command}`",
        "",
        "## Decisions (select: scores + argmax)",
        "",
        "| model | dtype | K | d | B | provider | µs/call p50 | µs/call p99 "
        "| CPU µs/call p50 | µs/decision p50 | µs/decision p99 | decisions/s | GFLOP/s "
        "| ratio to matmul | state bytes |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in recs:
        if r.status != "ok":
            lines.append(
                f"| {r.model} | {r.dtype} | {r.K} | {r.d} | {r.B} | {r.provider} | "
                f"{r.status} | | | | | | | | |"
            )
            continue
        lines.append(
            f"| {r.model} | {r.dtype} | {r.K} | {r.d} | {r.B} | {r.provider} | "
            f"{fmt(r.call_us_p50)} | {fmt(r.call_us_p99)} | {fmt(r.cpu_us_p50)} | "
            f"{fmt(r.us_per_decision_p50)} | "
            f"{fmt(r.us_per_decision_p99)} | {fmt(r.decisions_per_s)} | {fmt(r.gflops)} | "
            f"{fmt(r.ratio_to_matmul, 2)} | {fmt(r.state_bytes)} |"
        )
    lines += [
        "",
        "## Updates",
        "",
        "| model | K | d | provider | batch | updates | updates/s | updates/CPU-s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for u in ups:
        if u.status != "ok":
            lines.append(
                f"| {u.model} | {u.K} | {u.d} | {u.provider} | {u.batch} | {u.status} | | |"
            )
        else:
            lines.append(
                f"| {u.model} | {u.K} | {u.d} | {u.provider} | {u.batch} | "
                f"{u.n_updates} | {fmt(u.updates_per_s)} | {fmt(u.updates_per_cpu_s)} |"
            )
    return "\n".join(lines) + "\n"


def _find(recs: list[Record], **kw) -> Record | None:
    for r in recs:
        if r.status == "ok" and all(getattr(r, k) == v for k, v in kw.items()):
            return r
    return None


def targets(recs: list[Record], ups: list[UpdateRecord]) -> str:
    """The issue's four targets, each stated as met or not with the measured value."""
    lines = ["## Targets", "", "| target | measured | met? |", "|---|---|---|"]

    def row(name: str, value: str, ok: bool | None) -> None:
        verdict = "not measured" if ok is None else ("met" if ok else "NOT met")
        lines.append(f"| {name} | {value} | {verdict} |")

    for model, K, d in [("shared", 168, 64), ("disjoint", 168, 64)]:
        r = _find(recs, model=model, provider="core", dtype="float64", K=K, d=d, B=1)
        row(
            f"one decision ≤ 30 µs p50 ({model}, K={K}, d={d}, float64)",
            f"{fmt(r.call_us_p50)} µs p50 (p99 {fmt(r.call_us_p99)})" if r else "–",
            None if r is None else r.call_us_p50 <= 30,
        )
    for model in ("shared", "disjoint"):
        for dtype in ("float64", "float32"):
            rs = [
                r
                for r in recs
                if r.status == "ok"
                and r.model == model
                and r.dtype == dtype
                and r.provider == "core"
                and r.B == 1024
                and r.ratio_to_matmul is not None
            ]
            if not rs:
                row(f"B = 1024 scoring ≥ 50 % of matmul GFLOP/s ({model}, {dtype})", "–", None)
                continue
            worst = min(rs, key=lambda r: r.ratio_to_matmul)
            best = max(rs, key=lambda r: r.ratio_to_matmul)
            met = sum(r.ratio_to_matmul >= 0.5 for r in rs)
            row(
                f"B = 1024 scoring ≥ 50 % of matmul GFLOP/s ({model}, {dtype})",
                f"{met} of {len(rs)} (K, d) cells; ratio {worst.ratio_to_matmul:.2f} "
                f"(K={worst.K}, d={worst.d}) to {best.ratio_to_matmul:.2f} "
                f"(K={best.K}, d={best.d})",
                met == len(rs),
            )
    for model in ("shared", "disjoint"):
        pairs = []
        for r in recs:
            if (
                r.status == "ok"
                and r.model == model
                and r.provider == "core"
                and r.B == 64
                and r.dtype == "float64"
            ):
                ref = _find(
                    recs, model=model, provider="reference", dtype="float64", K=r.K, d=r.d, B=64
                )
                if ref:
                    pairs.append((ref.call_us_p50 / r.call_us_p50, r))
        if pairs:
            worst = min(pairs, key=lambda p: p[0])
            met = sum(p[0] >= 2 for p in pairs)
            row(
                f"≥ 2× the numpy reference at B = 64, float64 ({model})",
                f"{met} of {len(pairs)} cells; speed-up {worst[0]:.1f}× (K={worst[1].K}, "
                f"d={worst[1].d}) to {max(p[0] for p in pairs):.1f}×",
                met == len(pairs),
            )
    for model in ("shared", "disjoint"):
        us = [
            u
            for u in ups
            if u.status == "ok"
            and u.model == model
            and u.provider == "core"
            and u.d == 64
            and u.batch > 1
        ]
        if us:
            lo = min(us, key=lambda u: u.updates_per_s)
            row(
                f"≥ 500 000 updates/s at d = 64, batched ({model})",
                f"{fmt(lo.updates_per_s)} /s wall (K={lo.K}); "
                f"{fmt(lo.updates_per_cpu_s)} per CPU-second",
                lo.updates_per_s >= 5e5,
            )
    return "\n".join(lines) + "\n"


def target_rounds(args, rng) -> str:
    """The target cells measured in ``--rounds`` interleaved rounds.

    On a shared machine the load changes from minute to minute, so a core time and a matmul time
    taken minutes apart compare badly. Here every round measures the core and both matmuls of a
    cell back to back; the table reports medians over rounds of the times and of the per-round
    ratios.
    """
    cells = [
        ("shared", "float64", 168, 64, 1),
        ("disjoint", "float64", 168, 64, 1),
        ("disjoint", "float32", 168, 64, 1),
        ("shared", "float64", 168, 64, 64),
        ("disjoint", "float64", 168, 64, 64),
        ("shared", "float64", 168, 64, 1024),
        ("shared", "float32", 168, 64, 1024),
        ("disjoint", "float64", 168, 64, 1024),
        ("disjoint", "float32", 168, 64, 1024),
        ("shared", "float64", 1024, 16, 1024),
        ("disjoint", "float64", 16, 16, 1024),
    ]
    per: dict[tuple, list[Record]] = {}
    upd: dict[tuple, list[UpdateRecord]] = {}
    for i in range(args.rounds):
        for model, dtype, K, d, B in cells:
            provs = ["core", "matmul"] + (["reference"] if B == 64 else [])
            for r in run_scoring(args, model, dtype, K, d, B, rng, provs):
                per.setdefault((model, dtype, K, d, B, r.provider), []).append(r)
        for model, K in (("shared", 168), ("disjoint", 168)):
            for u in run_updates(args, model, K, 64, rng, ["core"]):
                upd.setdefault((model, K, u.batch), []).append(u)
        logger.info("round %s of %s done", i + 1, args.rounds)
    lines = [
        f"## Target cells, {args.rounds} interleaved rounds (medians over rounds)",
        "",
        "| model | dtype | K | d | B | provider | µs/call p50 | CPU µs/call | GFLOP/s "
        "| ratio to best matmul (per-round median) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (model, dtype, K, d, B, prov), rs in per.items():
        ok = [r for r in rs if r.status == "ok"]
        if not ok:
            continue
        med = lambda xs: float(np.median([x for x in xs if x is not None]))  # noqa: E731
        ratios = [r.ratio_to_matmul for r in ok if r.ratio_to_matmul is not None]
        call, cpu = med(r.call_us_p50 for r in ok), med(r.cpu_us_p50 for r in ok)
        ratio = fmt(float(np.median(ratios)), 2) if ratios else "–"
        lines.append(
            f"| {model} | {dtype} | {K} | {d} | {B} | {prov} | {fmt(call)} | {fmt(cpu)} | "
            f"{fmt(med(r.gflops for r in ok))} | {ratio} |"
        )
    lines += ["", "| model | K | d | batch | updates/s (median) | updates/CPU-s (median) |"]
    lines += ["|---|---|---|---|---|---|"]
    for (model, K, batch), us in upd.items():
        ok = [u for u in us if u.status == "ok"]
        wall = float(np.median([u.updates_per_s for u in ok]))
        cpu = float(np.median([u.updates_per_cpu_s for u in ok if u.updates_per_cpu_s]))
        lines.append(f"| {model} | {K} | 64 | {batch} | {fmt(wall)} | {fmt(cpu)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small grid, short budgets (a smoke run)")
    p.add_argument("--models", default="shared,disjoint")
    p.add_argument(
        "--dtypes",
        default="float64,float32",
        help="float32 is measured for the core and matmul only",
    )
    p.add_argument("--providers", default="core,reference,mabwiser,matmul")
    p.add_argument("--K", default="16,168,1024")
    p.add_argument("--d", default="16,64,256")
    p.add_argument("--B", default="1,64,1024")
    p.add_argument("--budget", type=float, default=0.25, help="seconds of calls per measurement")
    p.add_argument("--max-gib", type=float, default=2.0, help="skip providers needing more")
    p.add_argument(
        "--max-call-s",
        type=float,
        default=8.0,
        help="skip a provider where one call would take longer (from the last B)",
    )
    p.add_argument("--update-batch", type=int, default=4096)
    p.add_argument(
        "--single-updates",
        type=int,
        default=2000,
        help="most one-observation update calls per measurement",
    )
    p.add_argument("--json", type=Path, help="write the records here")
    p.add_argument("--md", type=Path, help="write markdown tables here")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--rounds",
        type=int,
        default=0,
        help="only measure the target cells, in this many interleaved rounds",
    )
    p.add_argument("--render", type=Path, help="only re-render the markdown of a --json file")
    p.add_argument(
        "--merge",
        action="store_true",
        help="keep the records already in --json, replacing those this run measures again",
    )
    args = p.parse_args(argv)
    if args.render:
        data = json.loads(args.render.read_text())
        recs = [Record(**r) for r in data["decisions"]]
        ups = [UpdateRecord(**u) for u in data["updates"]]
        text = markdown(data["machine"], recs, ups, data["command"]) + "\n" + targets(recs, ups)
        if args.md:
            args.md.write_text(text)
        print(text)
        return
    if args.rounds:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
        info = machine_info()
        text = target_rounds(args, np.random.default_rng(args.seed))
        info["loadavg_end"] = os.getloadavg()
        head = "\n".join(f"- {k}: {v}" for k, v in info.items())
        command = "python benchmarks/bench_linucb.py " + " ".join(argv or sys.argv[1:])
        text = f"## Machine\n\n{head}\n\nCommand: `{command}`\n\n{text}"
        if args.md:
            args.md.write_text(text)
        print(text)
        return
    if args.quick:
        args.K, args.d, args.B = "16,168", "16,64", "1,64"
        args.budget, args.update_batch, args.single_updates = 0.05, 1024, 200
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    rng = np.random.default_rng(args.seed)
    providers = args.providers.split(",")
    Ks, ds, Bs = ([int(v) for v in s.split(",")] for s in (args.K, args.d, args.B))
    info = machine_info()
    recs: list[Record] = []
    ups: list[UpdateRecord] = []
    t_start = time.perf_counter()
    command = "python benchmarks/bench_linucb.py " + " ".join(argv or sys.argv[1:])

    old_recs: list[dict] = []
    old_ups: list[dict] = []
    if args.merge and args.json and args.json.exists():
        previous = json.loads(args.json.read_text())
        old_recs, old_ups = previous["decisions"], previous["updates"]
        info["merged_into"] = previous["machine"]
        command = previous["command"] + " ; then " + command

    merged: list = [recs, ups]

    def dump() -> None:
        info["loadavg_end"] = os.getloadavg()
        info["wall_s"] = round(time.perf_counter() - t_start, 1)
        if args.json:
            keys = {(r.model, r.provider, r.dtype, r.K, r.d, r.B) for r in recs}
            ukeys = {(u.model, u.provider, u.K, u.d, u.batch) for u in ups}
            kept = [
                r
                for r in old_recs
                if tuple(r[k] for k in ("model", "provider", "dtype", "K", "d", "B")) not in keys
            ]
            kept_u = [
                u
                for u in old_ups
                if tuple(u[k] for k in ("model", "provider", "K", "d", "batch")) not in ukeys
            ]
            all_recs = [*(Record(**r) for r in kept), *recs]
            all_ups = [*(UpdateRecord(**u) for u in kept_u), *ups]
            order = {"shared": 0, "disjoint": 1}
            all_recs.sort(
                key=lambda r: (order.get(r.model, 2), r.K, r.d, r.dtype != "float64", r.B)
            )
            all_ups.sort(key=lambda u: (order.get(u.model, 2), u.K, u.d))
            merged[:] = [all_recs, all_ups]
            args.json.write_text(
                json.dumps(
                    {
                        "machine": info,
                        "command": command,
                        "decisions": [asdict(r) for r in all_recs],
                        "updates": [asdict(u) for u in all_ups],
                    },
                    indent=1,
                )
            )

    for model in args.models.split(","):
        for K in Ks:
            for d in ds:
                for dtype in args.dtypes.split(","):
                    for B in Bs:
                        new = run_scoring(args, model, dtype, K, d, B, rng, providers)
                        for r in new:
                            logger.info(
                                "%s %s K=%s d=%s B=%s %-9s %s p50=%s us GFLOP/s=%s",
                                model,
                                dtype,
                                K,
                                d,
                                B,
                                r.provider,
                                r.status,
                                fmt(r.call_us_p50),
                                fmt(r.gflops),
                            )
                        recs += new
                if model == "shared" and K != Ks[0]:
                    continue  # the shared model's update cost does not depend on K
                new_u = run_updates(args, model, K, d, rng, providers)
                for u in new_u:
                    logger.info(
                        "%s updates K=%s d=%s %-9s batch=%s %s/s",
                        model,
                        K,
                        d,
                        u.provider,
                        u.batch,
                        fmt(u.updates_per_s),
                    )
                ups += new_u
                dump()  # after every (K, d): a run cut short still leaves its records
    dump()
    all_recs, all_ups = merged
    text = markdown(info, all_recs, all_ups, command) + "\n" + targets(all_recs, all_ups)
    if args.md:
        args.md.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
