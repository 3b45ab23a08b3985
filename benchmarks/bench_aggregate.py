"""Median time of the answer aggregations per provider: numpy reference, torch, Triton.

For every operation, batch size B and candidate count N it times each available provider on the
same inputs and prints one Markdown table per operation (µs, effective GB/s from the bytes the
operation must read and write, speed-up against torch) followed by one JSON record per row.

Providers: ``numpy`` (the references, host arrays), ``torch`` (sort + scatter) and ``triton``
(kernels under ``uniscale.kernels``). On a CUDA device torch and Triton run on the GPU and GB/s is
also given as a share of the device's bandwidth, measured with a device-to-device copy. Without
CUDA, Triton would only run under its interpreter, which is a correctness tool and not a speed
provider: it is skipped and the output says so.

``prm_reduce`` is timed on B candidates with about N steps each (lengths uniform in [N/2, 3N/2]).

Example::

    python benchmarks/bench_aggregate.py                      # full grid, CPU providers here
    python benchmarks/bench_aggregate.py --ops majority --B 65536 --N 64 --repeat 20
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

import uniscale.aggregate as agg

OPS = ("majority", "weighted", "best", "prm")


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


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name()
    except ImportError:
        info["torch"] = None
    try:
        import triton

        info["triton"] = triton.__version__
    except ImportError:
        info["triton"] = None
    return info


def make_inputs(op: str, b: int, n: int, rng: np.random.Generator) -> dict[str, Any]:
    """Host inputs: 8 distinct answers, 10 % missing; float32 weights and scores."""
    if op == "prm":
        lengths = rng.integers(max(1, n // 2), n + n // 2 + 1, size=b)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        steps = rng.uniform(0.05, 1.0, size=int(offsets[-1])).astype(np.float32)
        return {"step_scores": steps, "offsets": offsets}
    ids = rng.integers(0, 8, size=(b, n)).astype(np.int64)
    ids[rng.random((b, n)) < 0.1] = -1
    if op == "majority":
        return {"answer_ids": ids}
    if op == "weighted":
        return {"answer_ids": ids, "weights": rng.random((b, n)).astype(np.float32)}
    scores = rng.random((b, n)).astype(np.float32)
    scores[rng.random((b, n)) < 0.1] = np.nan
    return {"scores": scores}


def bytes_moved(op: str, inputs: dict[str, Any]) -> int:
    """Bytes an ideal implementation reads and writes once."""
    read = sum(int(a.nbytes) for a in inputs.values())
    if op == "prm":
        return read + 8 * (inputs["offsets"].shape[0] - 1)
    b = next(iter(inputs.values())).shape[0]
    written = {"majority": 24, "weighted": 24, "best": 12}[op] * b
    return read + written


def call(op: str, inputs: dict[str, Any], backend: str) -> Any:
    if op == "majority":
        return agg.majority_vote(inputs["answer_ids"], backend=backend)
    if op == "weighted":
        return agg.weighted_vote(inputs["answer_ids"], inputs["weights"], backend=backend)
    if op == "best":
        return agg.best_of_n(inputs["scores"], backend=backend)
    return agg.prm_reduce(inputs["step_scores"], inputs["offsets"], "mean", backend=backend)


def timer(
    sync: Callable[[], None], fn: Callable[[], Any], warmup: int, repeat: int, budget_s: float
) -> float:
    """Median seconds of ``fn`` over at least 3 and at most ``repeat`` runs after warm-up."""
    for _ in range(warmup):
        fn()
    sync()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < repeat and (len(times) < 3 or time.perf_counter() - start < budget_s):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def device_bandwidth(torch: Any) -> float:
    """Bytes/s of a 1 GiB device-to-device copy (read + write), median of 10."""
    x = torch.empty(1 << 30, dtype=torch.uint8, device="cuda")
    y = torch.empty_like(x)
    t = timer(torch.cuda.synchronize, lambda: y.copy_(x), 3, 10, 10.0)
    return 2 * x.numel() / t


def ptxas_report(ns: list[int]) -> list[str]:
    """Markdown rows: registers and spills per thread of each kernel, compiled for sm_90a.

    Needs no GPU: Triton compiles ahead of time and its bundled ptxas reports the resources. The
    tiles are the launchers' defaults for rows of N candidates (``prm``: N steps).
    """
    import re

    import triton
    import triton.language as tl
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    from uniscale.aggregate.triton_backend import kernels_module

    vote, best, prm = (kernels_module(m) for m in ("vote", "best_of_n", "prm_reduce"))
    bin_dir = Path(triton.__file__).parent / "backends" / "nvidia" / "bin"
    i32 = "i32"
    rows = []
    for n in ns:
        bb, bj, bk = vote.vote_tiles(n)
        cb, cn = best.best_of_n_tiles(n)
        pc, ps = prm.prm_reduce_tiles(n)
        vote_sig = dict(
            ids_ptr="*i64",
            valid_ptr="*u8",
            weights_ptr="*fp32",
            winner_ptr="*i64",
            total_ptr="*fp64",
            share_ptr="*fp64",
            B=i32,
            N=i32,
            stride_ids_b=i32,
            stride_ids_n=i32,
            stride_valid_b=i32,
            stride_valid_n=i32,
            stride_w_b=i32,
            stride_w_n=i32,
        )
        best_sig = dict(
            scores_ptr="*fp32",
            valid_ptr="*u8",
            index_ptr="*i64",
            best_ptr="*fp32",
            B=i32,
            N=i32,
            stride_s_b=i32,
            stride_s_n=i32,
            stride_valid_b=i32,
            stride_valid_n=i32,
        )
        prm_sig = dict(
            steps_ptr="*fp32",
            offsets_ptr="*i64",
            out_ptr="*fp64",
            n_candidates=i32,
            stride_steps=i32,
        )
        cases = [
            (
                "majority",
                vote._vote_kernel,
                vote_sig,
                dict(HAS_VALID=False, WEIGHTED=False, BLOCK_B=bb, BLOCK_J=bj, BLOCK_K=bk),
            ),
            (
                "weighted",
                vote._vote_kernel,
                vote_sig,
                dict(HAS_VALID=False, WEIGHTED=True, BLOCK_B=bb, BLOCK_J=bj, BLOCK_K=bk),
            ),
            (
                "best",
                best._best_of_n_kernel,
                best_sig,
                dict(HAS_VALID=False, COMPUTE_DTYPE=tl.float32, BLOCK_B=cb, BLOCK_N=cn),
            ),
            (
                "prm (mean)",
                prm._prm_reduce_kernel,
                prm_sig,
                dict(MODE=prm.MODE_CODES["mean"], BLOCK_C=pc, BLOCK_S=ps),
            ),
        ]
        for name, fn, sig, const in cases:
            full = dict(sig, **{k: "constexpr" for k in const})
            compiled = triton.compile(
                ASTSource(fn, full, constexprs=const),
                target=GPUTarget("cuda", 90, 32),
                options={"enable_fp_fusion": False},
            )
            ptx = Path("/tmp") / f"uniscale_{fn.__name__}_{os.getpid()}.ptx"
            ptx.write_text(compiled.asm["ptx"])
            report = "ptxas failed"
            for tool in ("ptxas-blackwell", "ptxas"):
                done = subprocess.run(
                    [str(bin_dir / tool), "-v", "-arch=sm_90a", str(ptx), "-o", os.devnull],
                    capture_output=True,
                    text=True,
                )
                if done.returncode == 0:
                    regs = re.search(r"Used (\d+) registers", done.stderr)
                    spill = re.search(r"(\d+) bytes spill stores", done.stderr)
                    report = (
                        f"{regs.group(1) if regs else '?'} | {spill.group(1) if spill else '?'}"
                    )
                    break
            ptx.unlink()
            tiles = ", ".join(f"{k}={v}" for k, v in const.items() if k.startswith("BLOCK"))
            rows.append(f"| {name} | {n} | {tiles} | {report} |")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ops", nargs="+", choices=OPS, default=list(OPS))
    parser.add_argument("--B", nargs="+", type=int, default=[1, 1024, 65536])
    parser.add_argument("--N", nargs="+", type=int, default=[4, 16, 64, 256])
    parser.add_argument(
        "--providers",
        nargs="+",
        choices=("numpy", "torch", "triton"),
        default=["numpy", "torch", "triton"],
    )
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=25, help="at most this many timed runs")
    parser.add_argument(
        "--budget-s",
        type=float,
        default=1.0,
        help="stop timing a case after 3 runs once this many seconds passed",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--torch-threads",
        type=int,
        help="torch.set_num_threads for the CPU torch provider (default: torch's)",
    )
    parser.add_argument("--json", type=Path, help="also write the JSON records to this file")
    parser.add_argument(
        "--ptxas",
        action="store_true",
        help="also compile the kernels for sm_90a (no GPU needed) and report "
        "registers and spills per thread",
    )
    args = parser.parse_args(argv)

    try:
        import torch
    except ImportError:
        torch = None
    cuda = torch is not None and torch.cuda.is_available()
    if torch is not None and args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    providers = list(args.providers)
    notes: list[str] = []
    if torch is None and ("torch" in providers or "triton" in providers):
        providers = [p for p in providers if p == "numpy"]
        notes.append("torch is not installed: only the numpy provider ran")
    if "triton" in providers and not cuda:
        providers.remove("triton")
        notes.append(
            "no CUDA device: Triton is skipped (its interpreter checks correctness, it is not a "
            "speed provider); the GPU targets cannot be measured on this machine"
        )
    bandwidth = device_bandwidth(torch) if cuda else None
    meta = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "git": git_sha(),
        "command": " ".join(
            [Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]
        ),
        "machine": machine(),
        "device_bandwidth_GBps": None if bandwidth is None else round(bandwidth / 1e9, 1),
    }
    print(f"<!-- {json.dumps(meta)} -->")
    for note in notes:
        print(f"> {note}")
    print()
    rng = np.random.default_rng(args.seed)
    records: list[dict[str, Any]] = []
    for op in args.ops:
        head = "| B | N | provider | median µs | GB/s |"
        if cuda:
            head += " % of bandwidth |"
        head += " vs torch |"
        print(f"### {op}\n\n{head}\n|{'---|' * (head.count('|') - 1)}")
        for b in args.B:
            for n in args.N:
                host = make_inputs(op, b, n, rng)
                moved = bytes_moved(op, host)
                row: dict[str, float] = {}
                for provider in providers:
                    if provider == "numpy":
                        inputs, sync, backend = host, (lambda: None), "numpy"
                    else:
                        dev = "cuda" if cuda else "cpu"
                        inputs = {k: torch.from_numpy(v).to(dev) for k, v in host.items()}
                        sync = torch.cuda.synchronize if cuda else (lambda: None)
                        backend = provider
                    row[provider] = timer(
                        sync,
                        lambda o=op, i=inputs, be=backend: call(o, i, be),
                        args.warmup,
                        args.repeat,
                        args.budget_s,
                    )
                for provider, seconds in row.items():
                    rate = moved / seconds / 1e9
                    vs = row["torch"] / seconds if "torch" in row else float("nan")
                    line = f"| {b} | {n} | {provider} | {seconds * 1e6:.1f} | {rate:.3f} |"
                    if cuda:
                        line += f" {100 * moved / seconds / bandwidth:.1f} |"
                    line += f" {vs:.2f}× |"
                    print(line, flush=True)
                    records.append(
                        {
                            "op": op,
                            "B": b,
                            "N": n,
                            "provider": provider,
                            "median_us": seconds * 1e6,
                            "GBps": rate,
                            "speedup_vs_torch": vs,
                            "bytes": moved,
                            "git": meta["git"],
                        }
                    )
        print()
    if args.ptxas:
        print("### Triton kernels compiled for sm_90a (ptxas -v, default tiles)\n")
        print("| kernel | N | tiles | registers / thread | spill stores (bytes) |")
        print("|---|---|---|---|---|")
        for line in ptxas_report(args.N):
            print(line, flush=True)
        print()
    for record in records:
        print(json.dumps(record))
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "records": records}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
