"""Console output of ``uniscale run``: a progress bar with running figures and the summary table."""

from __future__ import annotations

import math
from typing import Any

from uniscale.runner.loop import ArmStats, RunStats

__all__ = ["Reporter", "summary_table"]


def _pct(x: float) -> str:
    return "-" if math.isnan(x) else f"{100 * x:.1f}%"


def _num(x: float, fmt: str = ".3f") -> str:
    return "-" if math.isnan(x) else format(x, fmt)


def _eflops(x: float) -> str:
    return "-" if x <= 0 or math.isnan(x) else f"{x:.3g}"


def summary_table(stats: RunStats, title: str = "uniscale run") -> Any:
    """A :class:`rich.table.Table` with one row per arm and a total row.

    Columns: arm, times chosen, share, accuracy (graded questions), mean reward, mean tokens,
    mean eFLOPs, mean seconds per question.
    """
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    table.add_column("arm")
    for name in ("chosen", "share", "accuracy", "mean reward", "tokens/q", "eFLOPs/q", "s/q"):
        table.add_column(name, justify="right")

    def row(label: str, s: ArmStats, total: int, **style: Any) -> None:
        n = max(s.chosen, 1)
        table.add_row(
            label,
            str(s.chosen),
            _pct(s.chosen / total) if total else "-",
            _pct(s.accuracy) + (f" ({s.correct}/{s.graded})" if s.graded else ""),
            _num(s.mean_reward),
            f"{s.tokens / n:.0f}",
            _eflops(s.eflops / n),
            f"{s.wall_s / n:.1f}",
            **style,
        )

    total = stats.answered
    for label in sorted(stats.arms, key=lambda k: (-stats.arms[k].chosen, k)):
        row(label, stats.arms[label], total)
    table.add_section()
    row("all", stats.overall, total, style="bold")
    return table


class Reporter:
    """Progress bar (rich) with running accuracy and cost, plus one line per question.

    Parameters
    ----------
    console : rich.console.Console
    total : int
        Number of questions.
    show_bar : bool
        False for plain line output (no live bar).
    """

    def __init__(self, console: Any, total: int, *, show_bar: bool = True) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.console = console
        self._progress = None
        if show_bar:
            self._progress = Progress(
                TextColumn("[bold]run"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[figures]}"),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            )
            self._task = self._progress.add_task("run", total=total, figures="")

    def __enter__(self) -> Reporter:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def __call__(self, index: int, question: Any, record: dict[str, Any], stats: RunStats) -> None:
        overall = stats.overall
        done = stats.answered + stats.errors
        figures = (
            f"acc {_pct(overall.accuracy)}  tokens/q {overall.tokens / max(overall.chosen, 1):.0f}"
            f"  eFLOPs total {_eflops(overall.eflops)}"
        )
        if "error" in record:
            line = f"[{done}/{stats.total}] {question.id}: [red]error[/red] {record['error']}"
        else:
            mark = {True: "[green]right[/green]", False: "[red]wrong[/red]", None: "ungraded"}
            cost = record["cost"]
            line = (
                f"[{done}/{stats.total}] {question.id}: {record['arm']}  "
                f"answer={record['answer']!s} gold={question.gold!s} {mark[record['correct']]}  "
                f"tokens={cost['prompt_tokens'] + cost['completion_tokens']}  "
                f"{record['wall_s']:.1f}s  | {figures}"
            )
        self.console.print(line, highlight=False)
        if self._progress is not None:
            self._progress.update(self._task, completed=done, figures=figures)
