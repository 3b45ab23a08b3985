"""Outputs of a replay: a markdown table, a JSON file with every number, and PNG plots.

Files written by :func:`write_report` into the output folder (``<stem>`` defaults to
``replay``):

- ``<stem>.md``    the table of every policy (mean and 95 % interval over seeds) and the facts
  of the run;
- ``<stem>.json``  everything: config, arms, per-seed figures, mean regret curves (at up to 200
  evaluated steps, listed in ``curve_steps``), the cloud of fixed arms, the frontier;
- ``<stem>_regret.png``  mean cumulative regret against the oracle and the best fixed arm;
- ``<stem>_cost_accuracy.png``  accuracy against mean cost per query: every fixed arm (grey),
  every policy, and the budget / cost-weight frontier.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from uniscale.replay.experiment import ReplayResult
from uniscale.replay.metrics import FIGURES, Interval

logger = logging.getLogger(__name__)

__all__ = ["result_to_json", "markdown_table", "write_report", "plot_regret", "plot_cost_accuracy"]

_CURVE_POINTS = 200
_COLUMNS = (
    ("reward", "reward", 3, 1.0),
    ("accuracy", "accuracy %", 1, 100.0),
    ("dollars", "$/1k queries", 3, 1000.0),
    ("tokens", "tokens/query", 0, 1.0),
    ("eflops", "TeFLOPs/query", 1, 1e-12),
    ("regret_oracle", "regret vs oracle", 1, 1.0),
    ("regret_fixed", "regret vs best fixed", 1, 1.0),
)


def _fmt(iv: Interval, digits: int, scale: float) -> str:
    if math.isnan(iv.mean):
        return "n/a"
    m, lo, hi = iv.mean * scale, iv.lo * scale, iv.hi * scale
    if lo == hi:
        return f"{m:.{digits}f}"
    return f"{m:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def markdown_table(
    result: ReplayResult, *, title: str | None = None, command: str | None = None
) -> str:
    """The run as markdown: facts, then one row per policy (mean [95 % interval])."""
    cfg = result.config
    w = cfg.reward_weights
    info = result.info
    lines = [f"### {title or f'Replay: {result.task}'}", ""]
    if command:
        lines += ["```", command, "```", ""]
    lines += [
        f"- {result.n_queries} queries, {len(result.arms)} arms, mode {cfg.mode}, "
        f"{cfg.passes} pass(es), {len(cfg.seeds)} seeds; {info['steps_per_seed']} steps per "
        f"seed, {info['evaluated_steps_per_seed']} evaluated.",
        f"- Reward weights (correct, verifier, cost) = ({w.correct:g}, {w.verifier:g}, "
        f"{w.cost:g}), used as ({', '.join(f'{x:.3g}' for x in info['weights_used'])}); "
        f"verifier term: {cfg.verifier}; cost: {cfg.cost_unit}, log-min-max "
        f"normalised over the arms' mean costs [{info['normalizer'][0]:.3g}, "
        f"{info['normalizer'][1]:.3g}].",
        f"- LinUCB alpha {cfg.alpha:g}, warm-up {cfg.warmup}, features {cfg.featurizer} → "
        f"joint d = {info['d']}; TTS-only subspace: {info['tts_model']} ({info['tts_arms']} "
        f"arms); routing-only: {len(info['routing_arms'])} arms (n = 1).",
    ]
    if "cascade_weak" in info:
        esc = ", ".join(f"{k}: {v:.0%}" for k, v in info["cascade_escalation"].items())
        lines.append(
            f"- Cascade: weak `{info['cascade_weak']}`, strong "
            f"`{info['cascade_strong']}`; escalated share {esc}."
        )
    counts: dict[str, int] = {}
    for a in info["best_fixed_per_seed"]:
        counts[a] = counts.get(a, 0) + 1
    best = ", ".join(f"`{a}` ×{c}" for a, c in sorted(counts.items(), key=lambda x: -x[1]))
    lines.append(f"- Best fixed arm in hindsight (per seed): {best}.")
    lines.append(
        f"- Time: {info['seconds_total']:.1f} s (sampling {info['seconds_sampling']:.1f}"
        f" s, policies {info['seconds_playing']:.1f} s)."
    )
    lines.append("")
    head = "| policy | " + " | ".join(c[1] for c in _COLUMNS) + " |"
    lines += [head, "|" + "---|" * (len(_COLUMNS) + 1)]
    for name, s in result.summaries.items():
        cells = [_fmt(s.figures[key], digits, scale) for key, _, digits, scale in _COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    return "\n".join(lines)


def _clean(x: Any) -> Any:
    if isinstance(x, float):
        # Seven significant digits: far below every interval's width, and half the file.
        return None if math.isnan(x) or math.isinf(x) else float(f"{x:.7g}")
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, np.ndarray):
        return _clean(x.tolist())
    if isinstance(x, np.generic):
        return _clean(x.item())
    return x


def result_to_json(result: ReplayResult, *, command: str | None = None) -> dict[str, Any]:
    """Every number of the run as a JSON-able dict (NaN written as null)."""
    cfg = asdict(result.config)
    cfg["reward_weights"] = asdict(result.config.reward_weights)
    names = [a.name for a in result.arms]
    # Regret curves at no more than _CURVE_POINTS evaluated steps (always including the last).
    n_steps = next(iter(result.summaries.values())).curve_oracle.size
    steps = np.unique(np.linspace(1, n_steps, min(n_steps, _CURVE_POINTS)).round().astype(int))
    out = {
        "command": command,
        "task": result.task,
        "n_queries": result.n_queries,
        "config": cfg,
        "arms": [asdict(a) | {"name": a.name} for a in result.arms],
        "policies": {
            n: {
                "figures": {f: s.figures[f].as_dict() for f in FIGURES},
                "per_seed": s.per_seed,
                "curve_steps": steps,
                "curve_regret_oracle": s.curve_oracle[steps - 1],
                "curve_regret_fixed": s.curve_fixed[steps - 1],
                "arm_share": {names[a] if a >= 0 else "cascade": v for a, v in s.arm_share.items()},
            }
            for n, s in result.summaries.items()
        },
        "fixed_arms": {"names": names, **result.fixed_arms},
        "frontier": result.frontier,
        "info": result.info,
    }
    return _clean(out)


def _policy_style(name: str) -> dict[str, Any]:
    if name.startswith("uniscale"):
        return {"lw": 2.2}
    if name in ("oracle", "best_fixed", "best_fixed_learn"):
        return {"lw": 1.4, "ls": "--"}
    return {"lw": 1.2}


def plot_regret(result: ReplayResult, path: Path, *, skip: Sequence[str] = ()) -> Path:
    """Mean cumulative regret curves (vs oracle, vs best fixed arm) of the main policies."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    for name, s in result.summaries.items():
        if name in skip or name.startswith(("budget@", "costw@")) or name == "oracle":
            continue
        t = np.arange(1, s.curve_oracle.size + 1)
        axes[0].plot(t, s.curve_oracle, label=name, **_policy_style(name))
        if name != "best_fixed":
            axes[1].plot(t, s.curve_fixed, label=name, **_policy_style(name))
    axes[0].set_title("cumulative regret vs per-query oracle")
    axes[1].set_title("cumulative regret vs best fixed arm (hindsight)")
    axes[1].axhline(0.0, color="k", lw=0.8)
    for ax in axes:
        ax.set_xlabel("evaluated step")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"mean over {len(result.config.seeds)} seeds")
    axes[0].legend(fontsize=7, ncol=2, loc="upper left")
    fig.suptitle(
        f"{result.task}: {result.config.mode}, {result.config.passes} pass(es), "
        f"{result.config.preset if result.config.weights is None else 'custom'}"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_cost_accuracy(result: ReplayResult, path: Path, unit: str = "dollars") -> Path:
    """Accuracy against mean cost per query: fixed arms, policies, and the frontier."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 6))
    fa = result.fixed_arms
    ax.scatter(
        fa[unit], np.asarray(fa["accuracy"]) * 100, s=14, c="0.7", label="fixed arms", zorder=1
    )
    for kind, marker in (("budget", "o-"), ("cost_weight", "s--")):
        pts = sorted((p for p in result.frontier if p["kind"] == kind), key=lambda p: p[unit])
        if pts:
            ax.plot(
                [p[unit] for p in pts],
                [p["accuracy"] * 100 for p in pts],
                marker,
                ms=5,
                label=f"UniScale {kind.replace('_', ' ')} sweep",
                zorder=2,
            )
    for name, s in result.summaries.items():
        if name.startswith(("budget@", "costw@")):
            continue
        c, a = s.figures[unit].mean, s.figures["accuracy"].mean * 100
        if math.isnan(c):
            continue
        ax.scatter([c], [a], s=40, zorder=3, marker="*" if name.startswith("uniscale") else "D")
        ax.annotate(name, (c, a), fontsize=7, xytext=(4, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel(
        {
            "dollars": "mean $ per query",
            "tokens": "mean tokens per query",
            "eflops": "mean eFLOPs per query",
        }[unit]
        + " (log)"
    )
    ax.set_ylabel("accuracy %")
    ax.set_title(f"{result.task}: cost against accuracy")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_report(
    result: ReplayResult,
    out_dir: str | Path,
    *,
    stem: str = "replay",
    command: str | None = None,
    title: str | None = None,
) -> dict[str, Path]:
    """Write the markdown table, the JSON and the two PNG plots; returns their paths.

    Without matplotlib (the ``plot`` extra) the plots are skipped with a warning and only the
    table and the JSON are written; the returned dict then lacks the PNG entries.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"markdown": out / f"{stem}.md", "json": out / f"{stem}.json"}
    paths["markdown"].write_text(
        markdown_table(result, title=title, command=command), encoding="utf-8"
    )
    paths["json"].write_text(
        json.dumps(result_to_json(result, command=command), indent=1), encoding="utf-8"
    )
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        logger.warning(
            "write_report: matplotlib is not installed (pip install 'uniscale[plot]'); "
            "no plots written"
        )
        return paths
    paths["regret_png"] = plot_regret(result, out / f"{stem}_regret.png")
    paths["cost_png"] = plot_cost_accuracy(
        result, out / f"{stem}_cost_accuracy.png", result.config.cost_unit
    )
    return paths
