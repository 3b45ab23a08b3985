"""``uniscale replay TRACE``: replay recorded outcomes and compare routing policies.

TRACE is a trace file (JSON Lines, see :mod:`uniscale.replay.trace`) or the MoT-cascade data
folder together with ``--task date|gsm8k`` (converted on the fly). The run writes a markdown
table, a JSON file and PNG plots into ``--out`` and prints the table.

Also runnable as ``python -m uniscale.replay``.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

logger = logging.getLogger(__name__)

__all__ = ["build_parser", "main", "replay_main"]


def _seeds(text: str) -> tuple[int, ...]:
    """``"10"`` -> seeds 0..9; ``"0,3,7"`` -> those seeds."""
    try:
        if "," in text:
            seeds = tuple(int(s) for s in text.split(",") if s.strip())
        else:
            n = int(text)
            if n < 1:
                raise ValueError
            seeds = tuple(range(n))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a seed count (e.g. 10) or a comma list of seeds >= 0, got {text!r}"
        ) from None
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"seeds must be distinct ints >= 0, got {text!r}")
    return seeds


def _floats(text: str) -> tuple[float, ...]:
    try:
        vals = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers, got {text!r}"
        ) from None
    if not vals:
        raise argparse.ArgumentTypeError(f"expected at least one number, got {text!r}")
    return vals


def _preset(text: str) -> str:
    name = text.replace("-", "_")
    if name not in ("cost_sensitive", "quality_priority"):
        raise argparse.ArgumentTypeError(
            f"expected cost_sensitive or quality_priority, got {text!r}"
        )
    return name


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The replay argument parser (or these arguments added to ``parser``)."""
    p = parser or argparse.ArgumentParser(
        prog="uniscale replay",
        description="Replay recorded per-(query, arm) outcomes: UniScale against its subspaces, "
        "bandit baselines, k-NN, the MoT cascade, the best fixed arm and the oracle.",
    )
    p.add_argument(
        "trace", type=Path, help="trace file (.jsonl / .jsonl.gz) or the mot_cascade data folder"
    )
    p.add_argument(
        "--task",
        choices=("date", "gsm8k"),
        help="task to convert when TRACE is the mot_cascade folder",
    )
    p.add_argument(
        "--preset",
        type=_preset,
        default="cost_sensitive",
        help="reward weights: cost_sensitive (0.1, 0.1, 0.8) or quality_priority (0.4, 0.4, 0.2)",
    )
    p.add_argument(
        "--seeds",
        type=_seeds,
        default=tuple(range(10)),
        help="seed count (default 10) or comma list; each seed has its own query "
        "order and sample draws",
    )
    p.add_argument(
        "--passes",
        type=int,
        default=1,
        help="passes over the queries, fresh sample draws each (default 1)",
    )
    p.add_argument(
        "--heldout",
        action="store_true",
        help="learn on one half (--passes passes), evaluate one pass on the other",
    )
    p.add_argument(
        "--budget",
        type=_floats,
        default=(),
        help="comma list of target mean costs per query (in --cost-unit) for budget-mode runs",
    )
    p.add_argument(
        "--cost-weights",
        type=_floats,
        default=(),
        help="comma list of cost weights w for a sweep with weights ((1-w)/2, (1-w)/2, w)",
    )
    p.add_argument("--cost-unit", choices=("dollars", "tokens", "eflops"), default="dollars")
    p.add_argument(
        "--verifier",
        choices=("none", "agreement", "scores"),
        default="none",
        help="verifier term of the reward: none (default, 0), the vote agreement, "
        "or the trace's scores",
    )
    p.add_argument(
        "--policies",
        default=None,
        help="comma list of policies to run (default: all): uniscale, "
        "uniscale_routing, uniscale_tts, random, greedy, epsilon_greedy, thompson, "
        "knn, cascade",
    )
    p.add_argument("--alpha", type=float, default=1.0, help="LinUCB exploration weight")
    p.add_argument("--warmup", type=int, default=50, help="uniform decisions before learning")
    p.add_argument("--featurizer", choices=("hashed", "minilm"), default="hashed")
    p.add_argument("--target-dim", type=int, default=128, help="joint feature dimension target")
    p.add_argument("--projection", choices=("pca", "random"), default="pca")
    p.add_argument("--tts-model", default=None, help="model of the TTS-only subspace")
    p.add_argument(
        "--cascade-weak",
        default=None,
        help="weak arm name of the cascade; several joined by + vote together (MoT mixed vote)",
    )
    p.add_argument("--cascade-strong", default=None, help="strong arm name of the cascade")
    p.add_argument("--cascade-thresholds", type=_floats, default=(0.6, 0.8, 1.0))
    p.add_argument(
        "--llama-price",
        type=float,
        default=None,
        help="assumed $ per 1k tokens for Llama-2-13B when converting MoT data",
    )
    p.add_argument(
        "--save-trace", type=Path, default=None, help="also write the converted trace here"
    )
    p.add_argument("--out", type=Path, default=Path("replay_out"), help="output folder")
    p.add_argument("--stem", default="replay", help="file name stem of the outputs")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("-q", "--quiet", action="store_true", help="do not print the table")
    return p


def _load(args: argparse.Namespace):
    from uniscale.replay.trace import load_trace

    if args.trace.is_dir():
        if args.task is None:
            raise ValueError(
                f"{args.trace} is a folder: give --task date|gsm8k to convert the "
                "MoT-cascade data, or pass a trace file"
            )
        from uniscale.replay.mot_cascade import LLAMA2_13B_PRICE_PER_1K, convert_mot_cascade

        price = LLAMA2_13B_PRICE_PER_1K if args.llama_price is None else args.llama_price
        trace = convert_mot_cascade(args.trace, args.task, llama_price=price)
        if args.save_trace is not None:
            from uniscale.replay.trace import save_trace

            save_trace(trace, args.save_trace)
        return trace
    return load_trace(args.trace)


def replay_main(argv: Sequence[str] | None = None) -> int:
    """Run ``uniscale replay`` with ``argv`` (without the program name); returns exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    from uniscale.replay.experiment import ReplayConfig, run_replay
    from uniscale.replay.report import write_report

    try:
        trace = _load(args)
        kw = {}
        if args.policies is not None:
            kw["policies"] = tuple(p.strip() for p in args.policies.split(",") if p.strip())
        config = ReplayConfig(
            preset=args.preset,
            seeds=args.seeds,
            passes=args.passes,
            mode="heldout" if args.heldout else "online",
            cost_unit=args.cost_unit,
            verifier=args.verifier,
            alpha=args.alpha,
            warmup=args.warmup,
            featurizer=args.featurizer,
            target_dim=args.target_dim,
            projection=args.projection,
            cascade_weak=args.cascade_weak,
            cascade_strong=args.cascade_strong,
            cascade_thresholds=args.cascade_thresholds,
            budgets=args.budget,
            cost_weights=args.cost_weights,
            tts_model=args.tts_model,
            **kw,
        )
    except (ValueError, FileNotFoundError, KeyError) as exc:
        print(f"uniscale replay: error: {exc}", file=sys.stderr)
        return 2
    command = "uniscale replay " + " ".join(shlex.quote(a) for a in argv)
    if args.no_progress:
        result = run_replay(trace, config)
    else:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            transient=True,
            console=None,
        ) as bar:
            tasks: dict[str, int] = {}

            def tick(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total)
                bar.update(tasks[stage], completed=done)

            result = run_replay(trace, config, progress=tick)
    paths = write_report(result, args.out, stem=args.stem, command=command)
    if not args.quiet:
        print(paths["markdown"].read_text(encoding="utf-8"))
        print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0


main = replay_main
