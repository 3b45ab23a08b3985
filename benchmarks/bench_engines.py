"""Speed of the embedded llama.cpp engine against llama-cpp-python's own completion API.

For each model it measures, with medians over ``--repeat`` runs after one warm-up:

- ``load_s``: building the engine (file mapping, context allocation);
- ``prefill_tok_s``: prompt tokens evaluated per second (a fresh prompt of about
  ``--prompt-tokens`` tokens, KV cache emptied first);
- ``decode_tok_s``: tokens generated per second (greedy, ``--new-tokens`` tokens);
- ``samples_s``: wall time of ``--n`` samples of ``--sample-tokens`` tokens of one prompt, for two
  providers: ``uniscale`` (one ``generate(n=N)`` call: the prompt is evaluated once) and
  ``llama-cpp-python`` (N ``create_completion`` calls with distinct seeds; it reuses the cached
  prompt prefix too, so this compares per-token overheads: numpy sampling with log-probabilities
  against llama.cpp's C sampler).

Prints a Markdown table and one JSON record per row (machine, git sha, date).

Example::

    python benchmarks/bench_engines.py --models smollm2-135m gemma3-270m --repeat 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from uniscale.engines.llama_cpp import LlamaCppEngine


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


def median_time(fn: Any, repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench_model(model: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    import llama_cpp

    started = time.perf_counter()
    engine = LlamaCppEngine(model, n_ctx=1024, n_threads=args.threads)
    load_s = time.perf_counter() - started
    llama = engine._llama  # the same llama.cpp context, for the reference provider
    words = " ".join(f"item{i}" for i in range(args.prompt_tokens))
    tokens = llama.tokenize(words.encode(), add_bos=True, special=True)[: args.prompt_tokens]
    prompt = llama.detokenize(tokens).decode()
    n_prompt = len(llama.tokenize(prompt.encode(), add_bos=True, special=True))

    def prefill() -> None:
        engine._rewind(0)
        llama.eval(tokens)

    def decode() -> None:
        asyncio.run(
            engine.generate(["Once upon a time"], max_tokens=args.new_tokens, temperature=0.0)
        )

    def uniscale_samples() -> None:
        asyncio.run(
            engine.generate(
                [prompt],
                n=args.n,
                max_tokens=args.sample_tokens,
                temperature=0.8,
                seed=1,
                logprobs=True,
            )
        )

    def reference_samples() -> None:
        for seed in range(args.n):
            llama.set_seed(seed)
            llama.create_completion(
                prompt,
                max_tokens=args.sample_tokens,
                temperature=0.8,
                top_k=0,
                top_p=1.0,
                min_p=0.0,
                repeat_penalty=1.0,
            )

    [[probe]] = asyncio.run(
        engine.generate(["Once upon a time"], max_tokens=args.new_tokens, temperature=0.0)
    )
    t_prefill = median_time(prefill, args.repeat)
    t_decode = median_time(decode, args.repeat)
    t_ours = median_time(uniscale_samples, args.repeat)
    t_ref = median_time(reference_samples, args.repeat)
    asyncio.run(engine.aclose())
    base = {
        "model": model,
        "llama_cpp_python": llama_cpp.__version__,
        "threads": args.threads,
        "machine": f"{platform.machine()} {os.cpu_count()} cpus",
        "git": git_sha(),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
    common = {
        "load_s": round(load_s, 3),
        "prefill_tok_s": round(len(tokens) / t_prefill, 1),
        "decode_tok_s": round(probe.completion_tokens / t_decode, 1),
        "prompt_tokens": n_prompt,
        "n": args.n,
        "sample_tokens": args.sample_tokens,
    }
    return [
        {**base, **common, "provider": "uniscale", "samples_s": round(t_ours, 3)},
        {
            **base,
            **common,
            "provider": "llama-cpp-python",
            "samples_s": round(t_ref, 3),
            "uniscale_speedup": round(t_ref / t_ours, 2),
        },
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["smollm2-135m", "gemma3-270m"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--prompt-tokens", type=int, default=256)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--sample-tokens", type=int, default=16)
    args = parser.parse_args()
    rows = []
    for model in args.models:
        for row in bench_model(model, args):
            print(json.dumps(row), flush=True)  # records survive an interrupted run
            rows.append(row)
    print(
        "| model | provider | load s | prefill tok/s | decode tok/s | "
        f"{args.n} samples x {args.sample_tokens} tok, s |"
    )
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['model']} | {row['provider']} | {row['load_s']} | "
            f"{row['prefill_tok_s']} | {row['decode_tok_s']} | {row['samples_s']} |"
        )


if __name__ == "__main__":
    main()
