"""``uniscale run QUESTIONS``: load, route, answer, grade, feed back; save on exit or Ctrl-C."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

from uniscale.runner.loop import RunStats, run_questions
from uniscale.runner.questions import load_questions
from uniscale.runner.report import Reporter, summary_table
from uniscale.runner.setup import make_pipeline

__all__ = ["run_command"]

logger = logging.getLogger(__name__)

EXIT_INTERRUPTED = 130


def _console() -> Any:
    from rich.console import Console

    console = Console()
    if not console.is_terminal:
        # Piped to a file (or a CI log): wide enough that arm ids and the table do not wrap.
        console = Console(width=200)
    return console


def run_command(args: Any, *, console: Any = None) -> int:
    """Carry out ``uniscale run`` with parsed ``args``; returns the exit status.

    Ctrl-C stops after the question in progress is abandoned: the router state is saved (with
    ``--save``), the decision log holds every finished question, the summary covers them, and the
    exit status is 130. An unexpected error mid-run does the same with exit status 1. Bad input
    (question file, arm config, saved state) raises before anything runs.
    """
    console = console or _console()
    questions = load_questions(args.questions, limit=args.limit, kind=args.kind)
    pipeline = make_pipeline(
        arms=args.arms,
        preset=args.preset,
        budget=args.budget,
        seed=args.seed,
        load=args.load,
        fallback=1 if args.fallback is None else args.fallback,
        max_tokens=args.max_tokens,
        warmup=args.warmup,
        policy=args.policy,
        cost_unit=args.cost_unit,
    )
    # Without --log the decision log is a new file in the current directory (said in --help).
    log_path = args.log or Path(f"uniscale-run-{time.strftime('%Y%m%d-%H%M%S')}.jsonl")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    console.print(
        f"uniscale run: {len(questions)} questions from {args.questions}, "
        f"{len(pipeline.arms())} arms over {pipeline.model_names()}, "
        + (f"router loaded from {args.load}" if args.load else f"preset {args.preset}")
        + (f", budget {args.budget}" if args.budget is not None else "")
        + f", max_tokens {pipeline.default_max_tokens}, seed {args.seed}",
        highlight=False,
    )
    stats = RunStats(total=len(questions))
    status = 0
    start = time.perf_counter()
    log = log_path.open("w", encoding="utf-8")
    try:
        reporter = Reporter(console, len(questions), show_bar=not args.no_progress)

        async def go() -> None:
            try:
                await run_questions(
                    pipeline,
                    questions,
                    stats=stats,
                    log=log,
                    max_tokens=args.max_tokens,
                    seed=args.seed,
                    on_answer=reporter,
                )
            finally:
                # Runs on Ctrl-C too: asyncio.run cancels this task before re-raising.
                await pipeline.aclose()

        try:
            with reporter:
                asyncio.run(go())
        except KeyboardInterrupt:
            stats.interrupted = True
            status = EXIT_INTERRUPTED
            console.print("interrupted: saving what was learned and stopping", highlight=False)
        except Exception as exc:
            # A failure inside a strategy or engine mid-run: keep what was learned so far, report
            # it with its traceback in the log, and exit non-zero.
            logger.exception("uniscale run stopped by an error")
            # The error that stopped the run is one of the run's errors.
            stats.errors += 1
            stats.interrupted = True
            status = 1
            console.print(
                f"stopped by an error ({exc!r}); saving what was learned", highlight=False
            )
    finally:
        try:
            log.close()
        except OSError:
            # The log's device failed (full disk): that error was already reported above.
            logger.warning("closing the decision log %s failed", log_path, exc_info=True)
    elapsed = time.perf_counter() - start
    console.print(summary_table(stats, title=f"uniscale run: {args.questions}"))
    console.print(
        f"{stats.answered} answered, {stats.errors} "
        f"{'error' if stats.errors == 1 else 'errors'}"
        + (" (the last one stopped the run)" if status == 1 else "")
        + f" in {elapsed:.0f} s; "
        f"decision log: {log_path}",
        highlight=False,
    )
    if args.save is not None:
        pipeline.save(args.save)
        console.print(f"router state saved to {args.save}", highlight=False)
    return status
