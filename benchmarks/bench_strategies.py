"""Accuracy, tokens and wall time per question of every TTS strategy on real GSM8K questions.

Runs each strategy on the first ``--questions`` GSM8K test questions with each embedded model,
question by question (every model and strategy on question i before question i + 1, so that a
run cut short by ``--time-budget-s`` covers the same questions for every arm). Writes one JSON
record per (question, model, strategy) and a Markdown summary.

Example::

    nice -n 10 python benchmarks/bench_strategies.py --questions 50 --n 4 --max-tokens 96 \
        --models llama:smollm2-135m llama:gemma3-270m --out benchmarks/results/strategies.md
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from uniscale.answers import gold_from_gsm8k, grade
from uniscale.engines import get_engine
from uniscale.strategies import BeamSearch, BestOfN, SelfConsistency, Single, WeightedVote

logger = logging.getLogger("bench_strategies")

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "gsm8k" / "test.jsonl"


def strategies(n: int, beam: tuple[int, int, int], depth: int) -> dict[str, Any]:
    qp, cp, bs = beam
    return {
        "single(greedy)": Single(greedy=True),
        f"self_consistency(n={n})": SelfConsistency(n=n),
        f"best_of_n(n={n})": BestOfN(n=n),
        f"weighted_vote(n={n})": WeightedVote(n=n),
        f"beam(qp={qp},cp={cp},bs={bs},d={depth})": BeamSearch(
            qp=qp, cp=cp, bs=bs, max_depth=depth
        ),
        f"beam+ee(qp={qp},cp={cp},bs={bs},d={depth})": BeamSearch(
            qp=qp, cp=cp, bs=bs, max_depth=depth, early_exit=True
        ),
    }


class SharedSamples:
    """Wraps an engine so that strategies asking for the same samples get the same ones.

    Self-consistency, best-of-N and weighted vote at the same n and seed ask for identical
    samples; on this CPU the benchmark generates them once (always with log-probabilities, which
    the llama.cpp engine computes anyway) and replays them to the next strategy. The replayed
    call's original generation time is added to that strategy's wall time, so every strategy's
    wall time still includes its own sampling.
    """

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.info = engine.info
        self._cache: dict[str, tuple[Any, float]] = {}
        self.replayed_s = 0.0

    def clear(self) -> None:
        self._cache.clear()

    async def generate(self, prompts: Any, **kwargs: Any) -> Any:
        kwargs["logprobs"] = True
        key = json.dumps([prompts, sorted(kwargs.items())], default=str)
        if key in self._cache:
            result, took = self._cache[key]
            self.replayed_s += took
            return result
        t0 = time.perf_counter()
        result = await self.engine.generate(prompts, **kwargs)
        self._cache[key] = (result, time.perf_counter() - t0)
        return result

    async def aclose(self) -> None:
        await self.engine.aclose()


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


async def main_async(args: argparse.Namespace) -> int:
    if args.from_jsonl:
        records = [json.loads(x) for x in args.from_jsonl.read_text().splitlines() if x.strip()]
        done = len({r["question"] for r in records})
        table = summarize(records, args, done, float("nan"))
        print(table)
        if args.out:
            args.out.write_text(table)
        return 0
    if not args.data.exists():
        print(f"no data at {args.data}", file=sys.stderr)
        return 2
    rows = [json.loads(line) for line in args.data.read_text().splitlines() if line.strip()]
    rows = rows[: args.questions]
    arms = strategies(args.n, tuple(args.beam), args.depth)
    if args.strategies:
        arms = {k: v for k, v in arms.items() if k.split("(")[0] in args.strategies}
    engines = {spec: SharedSamples(get_engine(spec)) for spec in args.models}
    for engine in engines.values():  # warm-up: load weights, fill caches
        await Single(greedy=True).run("What is 1 + 1?", engine, max_tokens=8)
    start = time.perf_counter()
    records: list[dict[str, Any]] = []
    out_jsonl = args.jsonl.open("w") if args.jsonl else None
    done = 0
    for qi, row in enumerate(rows):
        if args.time_budget_s and time.perf_counter() - start > args.time_budget_s:
            logger.warning("time budget reached after %d questions", qi)
            break
        gold = gold_from_gsm8k(row["answer"])
        for spec, engine in engines.items():
            engine.clear()
            for label, strat in arms.items():
                engine.replayed_s = 0.0
                res = await strat.run(
                    row["question"], engine, max_tokens=args.max_tokens, seed=args.seed + qi
                )
                rec = {
                    "question": qi,
                    "model": spec,
                    "strategy": label,
                    "gold": gold,
                    "answer": res.answer,
                    "correct": grade(res.answer, gold),
                    "any_correct": any(grade(a, gold) for a in res.candidate_answers),
                    **res.cost.as_dict(),
                }
                rec["wall_s"] += engine.replayed_s  # generation replayed from a sibling
                records.append(rec)
                if out_jsonl:
                    out_jsonl.write(json.dumps(rec) + "\n")
                    out_jsonl.flush()
                logger.info(
                    "q%d %s %s correct=%s tokens=%d wall=%.1fs",
                    qi,
                    spec,
                    label,
                    rec["correct"],
                    rec["completion_tokens"],
                    rec["wall_s"],
                )
        done = qi + 1
    for engine in engines.values():
        await engine.aclose()
    total = time.perf_counter() - start
    table = summarize(records, args, done, total)
    print(table)
    if args.out:
        args.out.write_text(table)
    return 0


def summarize(
    records: list[dict[str, Any]], args: argparse.Namespace, done: int, total: float
) -> str:
    lines = [
        "# TTS strategies on GSM8K with the embedded models",
        "",
        f"- command: `{' '.join(sys.argv)}`",
        f"- date: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}, git {git_sha()}, "
        f"machine: {platform.machine()} {platform.processor() or ''} (shared 2-core CPU box)",
        f"- questions: the first {done} of GSM8K test (asked for {args.questions}); "
        f"n = {args.n}, max_tokens = {args.max_tokens}, beam (qp, cp, bs) = "
        f"{tuple(args.beam)}, max_depth = {args.depth}, seed = {args.seed} + question index",
        "- identical generate calls within a question are generated once and replayed (so "
        "self-consistency, best-of-N and weighted vote see the same n samples, and beam search "
        "with and without early exit share their levels up to the first exit); each strategy's "
        "wall time includes the generation it replayed",
        "- verifier for best-of-N, weighted vote and beam search: the embedded "
        "SelfConfidenceVerifier (weak: the policy's own token confidence)",
        f"- total wall time {total:.0f} s",
        "",
        "| model | strategy | questions | accuracy | any-candidate correct | completion tokens / q "
        "| prompt tokens / q | eFLOPs / q | wall s / q (median) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    keys: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for rec in records:
        keys.setdefault((rec["model"], rec["strategy"]), []).append(rec)
    for (model, strat), recs in keys.items():
        k = len(recs)
        acc = sum(r["correct"] for r in recs) / k
        anyc = sum(r["any_correct"] for r in recs) / k
        comp = statistics.mean(r["completion_tokens"] for r in recs)
        prompt = statistics.mean(r["prompt_tokens"] for r in recs)
        ef = [r["eflops"] for r in recs if r["eflops"] is not None]
        ef_s = f"{statistics.mean(ef):.3g}" if ef else "n/a"
        wall = statistics.median(r["wall_s"] for r in recs)
        lines.append(
            f"| {model} | {strat} | {k} | {acc:.2f} | {anyc:.2f} | {comp:.0f} | "
            f"{prompt:.0f} | {ef_s} | {wall:.1f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["llama:smollm2-135m", "llama:gemma3-270m"])
    parser.add_argument(
        "--strategies",
        nargs="*",
        default=None,
        help="subset by name: single self_consistency best_of_n weighted_vote beam beam+ee",
    )
    parser.add_argument("--questions", type=int, default=50)
    parser.add_argument("--n", type=int, default=4)
    parser.add_argument("--beam", type=int, nargs=3, default=[2, 2, 1], metavar=("QP", "CP", "BS"))
    parser.add_argument("--depth", type=int, default=6)
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--time-budget-s",
        type=float,
        default=0.0,
        help="stop starting new questions after this many seconds (0: none)",
    )
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--jsonl", type=Path, default=None, help="per-run records")
    parser.add_argument("--out", type=Path, default=None, help="Markdown summary")
    parser.add_argument(
        "--from-jsonl",
        type=Path,
        default=None,
        help="summarise records written by an earlier run instead of running",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
