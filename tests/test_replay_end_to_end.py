"""A small replay end to end (every policy, seconds), and the CLI writing table, JSON and PNGs."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from _replay_helpers import make_trace
from uniscale.replay import ReplayConfig, run_replay, save_trace, write_report
from uniscale.replay.cli import build_parser, replay_main

SMALL = dict(
    seeds=(0, 1, 2),
    warmup=5,
    budgets=(0.0005, 0.002),
    cost_weights=(0.2, 0.8),
    cascade_thresholds=(0.7, 1.0),
)


@pytest.fixture(scope="module")
def result():
    return run_replay(
        make_trace(24, seed=5), ReplayConfig(preset="quality_priority", passes=2, **SMALL)
    )


def test_every_policy_runs_and_the_oracle_is_on_top(result):
    names = set(result.summaries)
    for want in (
        "uniscale",
        "uniscale_routing",
        "uniscale_tts",
        "random",
        "greedy",
        "epsilon_greedy",
        "thompson",
        "knn",
        "cascade@0.7",
        "cascade@1",
        "best_fixed",
        "oracle",
        "budget@0.0005",
        "budget@0.002",
        "costw@0.2",
        "costw@0.8",
    ):
        assert want in names
    top = result.summaries["oracle"].figures["reward"].mean
    for name, s in result.summaries.items():
        assert s.figures["reward"].mean <= top + 1e-12, name
        for v in s.per_seed["regret_oracle"]:
            assert v >= -1e-9, name
    assert result.summaries["uniscale_routing"].arm_share.keys() <= {
        k for k, a in enumerate(result.arms) if a.n == 1
    }
    tts_model = result.info["tts_model"]
    assert all(
        result.arms[k].model == tts_model for k in result.summaries["uniscale_tts"].arm_share
    )
    assert result.info["evaluated_steps_per_seed"] == 48


def test_learning_beats_random(result):
    s = result.summaries
    assert s["uniscale"].figures["reward"].mean > s["random"].figures["reward"].mean


def test_budget_runs_spend_less_with_a_lower_target(result):
    lo = result.summaries["budget@0.0005"].figures["dollars"].mean
    hi = result.summaries["budget@0.002"].figures["dollars"].mean
    assert lo < hi
    assert len(result.frontier) == 4


def test_heldout_mode(tmp_path):
    r = run_replay(
        make_trace(20, seed=2),
        ReplayConfig(
            mode="heldout", passes=2, seeds=(0, 1), warmup=5, policies=("uniscale", "knn")
        ),
    )
    assert "best_fixed_learn" in r.summaries
    assert r.info["evaluated_steps_per_seed"] == 10 and r.info["steps_per_seed"] == 30
    paths = write_report(r, tmp_path, stem="ho")
    data = json.loads(paths["json"].read_text())
    assert set(data["policies"]) == set(r.summaries)


def test_bad_config_rejected():
    with pytest.raises(ValueError, match="preset"):
        ReplayConfig(preset="fast")
    with pytest.raises(ValueError, match="unknown policies"):
        ReplayConfig(policies=("uniscale", "neural"))
    with pytest.raises(ValueError, match="eflops"):
        run_replay(
            make_trace(6),
            ReplayConfig(cost_unit="eflops", seeds=(0,), warmup=1, policies=("uniscale",)),
        )


def test_cli_writes_table_json_and_plots(tmp_path, capsys):
    trace = save_trace(make_trace(16, seed=9), tmp_path / "t.jsonl.gz")
    out = tmp_path / "out"
    code = replay_main(
        [
            str(trace),
            "--seeds",
            "2",
            "--passes",
            "2",
            "--warmup",
            "3",
            "--budget",
            "0.001",
            "--cost-weights",
            "0.5",
            "--out",
            str(out),
            "--stem",
            "smoke",
            "--no-progress",
            "--preset",
            "quality-priority",
        ]
    )
    assert code == 0
    md = (out / "smoke.md").read_text()
    assert "| uniscale |" in md and "| oracle |" in md and "regret vs oracle" in md
    data = json.loads((out / "smoke.json").read_text())
    assert data["config"]["preset"] == "quality_priority"
    assert data["command"].startswith("uniscale replay ")
    f = data["policies"]["uniscale"]["figures"]["accuracy"]
    assert 0.0 <= f["lo"] <= f["mean"] <= f["hi"] <= 1.0
    assert len(data["policies"]["uniscale"]["per_seed"]["reward"]) == 2
    for png in ("smoke_regret.png", "smoke_cost_accuracy.png"):
        head = (out / png).read_bytes()[:8]
        assert head == b"\x89PNG\r\n\x1a\n"
    assert "| uniscale |" in capsys.readouterr().out


def test_cli_errors(tmp_path, capsys):
    assert replay_main([str(tmp_path / "none.jsonl"), "--no-progress"]) == 2
    assert "no trace file" in capsys.readouterr().err
    assert replay_main([str(tmp_path), "--no-progress"]) == 2
    assert "--task" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        build_parser().parse_args(["x", "--seeds", "0,0"])
    assert build_parser().parse_args(["x", "--seeds", "3"]).seeds == (0, 1, 2)
    assert math.isfinite(build_parser().parse_args(["x", "--budget", "0.1,0.2"]).budget[1])
    assert np.array_equal(build_parser().parse_args(["x"]).seeds, tuple(range(10)))


def test_mixed_vote_cascade_runs():
    r = run_replay(
        make_trace(12, seed=3),
        ReplayConfig(
            seeds=(0, 1),
            warmup=2,
            policies=("cascade",),
            cascade_thresholds=(1.0,),
            cascade_weak="small|a|n=3+small|b|n=3",
            cascade_strong="big|a|n=1",
        ),
    )
    assert r.info["cascade_weak"] == "small|a|n=3 + small|b|n=3"
    assert 0.0 < r.info["cascade_escalation"]["cascade@1"] <= 1.0
    assert (
        r.summaries["cascade@1"].figures["reward"].mean
        <= r.summaries["oracle"].figures["reward"].mean
    )
    with pytest.raises(ValueError, match="no arm named"):
        run_replay(
            make_trace(4),
            ReplayConfig(seeds=(0,), policies=("cascade",), cascade_weak="small|a|n=3+nope"),
        )


def test_report_without_matplotlib(result, tmp_path, monkeypatch, caplog):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    paths = write_report(result, tmp_path, stem="noplot")
    assert set(paths) == {"markdown", "json"}
    assert not list(tmp_path.glob("*.png"))
    assert "matplotlib is not installed" in caplog.text
