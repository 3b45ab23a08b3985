"""The ``uniscale`` command: argument errors, and ``uniscale run`` end to end on real models."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from uniscale.cli import build_parser, main
from uniscale.router import Router

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples" / "questions.jsonl"

TINY_ARMS = """
models:
  - {name: smollm2-135m, engine: "llama:smollm2-135m", params: 135000000}
strategies:
  - {name: single, kind: single, fixed: {greedy: true}}
  - {name: sc, kind: self_consistency, grid: {n: [2]}}
"""


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# ------------------------------------------------------------------------- argument handling


def test_help_lists_the_three_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert all(cmd in out for cmd in ("run", "serve", "replay"))


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: uniscale" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["run", "q.jsonl", "--limit", "0"], "--limit: expected a positive integer, got '0'"),
        (["run", "q.jsonl", "--budget", "-3"], "--budget: expected a positive number"),
        (["run", "q.jsonl", "--preset", "cheap"], "invalid choice: 'cheap'"),
        (["serve", "--snapshot-every", "-1"], "expected a number >= 0"),
        (["run"], "the following arguments are required: QUESTIONS"),
    ],
)
def test_bad_arguments_exit_2(argv: list[str], match: str, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert match in capsys.readouterr().err


def test_missing_question_file_is_one_clear_line(tmp_path: Path, capsys) -> None:
    assert main(["run", str(tmp_path / "none.jsonl")]) == 2
    err = capsys.readouterr().err
    assert "uniscale run: error: load_questions: no such file" in err
    assert "Traceback" not in err


def test_arms_and_load_together_are_refused(tmp_path: Path, capsys) -> None:
    arms = tmp_path / "arms.yaml"
    arms.write_text(TINY_ARMS, encoding="utf-8")
    code = main(["run", str(EXAMPLES), "--arms", str(arms), "--load", str(tmp_path)])
    assert code == 2
    assert "give --arms or --load, not both" in capsys.readouterr().err


def test_bad_arm_config_is_reported(tmp_path: Path, capsys) -> None:
    arms = tmp_path / "arms.yaml"
    arms.write_text("models: []\n", encoding="utf-8")
    assert main(["run", str(EXAMPLES), "--arms", str(arms)]) == 2
    assert "at least one model" in capsys.readouterr().err


def test_replay_is_mounted(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["replay", "--help"])
    assert info.value.code == 0
    assert "trace" in capsys.readouterr().out


def test_parser_defaults() -> None:
    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port, args.preset, args.api_key) == (
        "127.0.0.1",
        8000,
        "cost-sensitive",
        None,
    )
    args = build_parser().parse_args(["run", "x.jsonl"])
    assert (args.limit, args.seed, args.policy, args.cost_unit) == (None, 0, "linucb", "eflops")


# ------------------------------------------------------------------------ real runs (slow)


@pytest.mark.slow
def test_run_examples_on_the_default_arm_space(tmp_path: Path, capsys) -> None:
    log, state = tmp_path / "decisions.jsonl", tmp_path / "state"
    argv = ["run", str(EXAMPLES), "--limit", "2", "--max-tokens", "48", "--no-progress"]
    code = main([*argv, "--log", str(log), "--save", str(state)])
    assert code == 0
    out = capsys.readouterr().out
    assert "2 questions" in out and "10 arms" in out
    assert "accuracy" in out and "all" in out  # the summary table
    rows = _lines(log)
    assert [r["question_id"] for r in rows] == ["ex01", "ex02"]
    for r in rows:
        assert set(r) >= {"decision_id", "arm", "propensity", "answer", "correct", "cost", "reward"}
        assert isinstance(r["correct"], bool)
        assert r["cost"]["eflops"] > 0 and r["cost"]["completion_tokens"] > 0
        assert 0.0 <= r["reward"] <= 1.0
        assert r["arm"].split("/")[0] in ("smollm2-135m", "gemma3-270m")
    router = Router.load(state)
    assert router.policy.n_updates == 2 and router.n_pending == 0

    # Resuming from the saved state keeps learning from where it stopped.
    log2 = tmp_path / "more.jsonl"
    code = main(
        [*argv[:3], "1", *argv[4:], "--log", str(log2), "--load", str(state), "--save", str(state)]
    )
    assert code == 0
    assert Router.load(state).policy.n_updates == 3
    assert _lines(log2)[0]["decision_id"] not in {r["decision_id"] for r in rows}


@pytest.mark.slow
def test_run_real_gsm8k_questions(shared_data: Path, tmp_path: Path, capsys) -> None:
    gsm8k = shared_data / "gsm8k" / "test.jsonl"
    if not gsm8k.is_file():
        pytest.skip(f"{gsm8k} not found")
    arms = tmp_path / "arms.yaml"
    arms.write_text(TINY_ARMS, encoding="utf-8")
    log = tmp_path / "gsm8k.jsonl"
    argv = [
        "run",
        str(gsm8k),
        "--limit",
        "3",
        "--arms",
        str(arms),
        "--max-tokens",
        "48",
        "--no-progress",
        "--log",
        str(log),
        "--preset",
        "quality-priority",
        "--seed",
        "7",
    ]
    assert main(argv) == 0
    rows = _lines(log)
    assert [r["gold"] for r in rows] == ["18", "3", "70000"]
    assert all(isinstance(r["correct"], bool) for r in rows)
    out = capsys.readouterr().out
    assert "gold=18" in out and "quality-priority" in out


@pytest.mark.slow
def test_ctrl_c_saves_and_exits_cleanly(tmp_path: Path) -> None:
    arms = tmp_path / "arms.yaml"
    arms.write_text(TINY_ARMS, encoding="utf-8")
    log, state = tmp_path / "log.jsonl", tmp_path / "state"
    cmd = [
        sys.executable,
        "-m",
        "uniscale.cli",
        "run",
        str(EXAMPLES),
        "--arms",
        str(arms),
        "--max-tokens",
        "32",
        "--no-progress",
        "--log",
        str(log),
        "--save",
        str(state),
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ)
    )
    try:
        deadline = time.monotonic() + 240
        while not (log.is_file() and log.read_text(encoding="utf-8").count("\n") >= 1):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"run ended early or hung: {proc.communicate()}")
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert "interrupted" in out and "Traceback" not in err
    done = _lines(log)
    assert 1 <= len(done) < 20
    router = Router.load(state)
    assert router.policy.n_updates == len(done)


def test_serve_command_answers_health_and_saves_at_shutdown(tmp_path: Path) -> None:
    import socket

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    state = tmp_path / "state"
    cmd = [
        sys.executable,
        "-m",
        "uniscale.cli",
        "serve",
        "--port",
        str(port),
        "--save",
        str(state),
        "--api-key",
        "k3y",
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ)
    )
    try:
        deadline = time.monotonic() + 60
        health = None
        while health is None:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"serve ended early or hung: {proc.communicate()}")
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/health", headers={"X-API-Key": "k3y"})
                health = r.json()
            except httpx.TransportError:
                time.sleep(0.1)
        assert health["arms"] == 10
        assert httpx.get(f"http://127.0.0.1:{port}/health").status_code == 401
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert Router.load(state).n_arms == 10


def test_an_error_mid_run_saves_and_exits_1(tmp_path: Path, capsys) -> None:
    # A parameter the strategy does not take fails when the first arm is built, mid-run.
    arms = tmp_path / "arms.yaml"
    arms.write_text(
        'models: [{name: smollm2-135m, engine: "llama:smollm2-135m", params: 135000000}]\n'
        "strategies: [{name: single, kind: single, fixed: {colour: 1}}]\n",
        encoding="utf-8",
    )
    log, state = tmp_path / "log.jsonl", tmp_path / "state"
    argv = ["run", str(EXAMPLES), "--arms", str(arms), "--log", str(log), "--save", str(state)]
    assert main([*argv, "--no-progress"]) == 1
    captured = capsys.readouterr()
    assert "stopped by an error" in captured.out and "colour" in captured.out
    assert "0 answered" in captured.out
    assert log.read_text(encoding="utf-8") == ""
    router = Router.load(state)
    assert router.n_pending == 0 and router.policy.n_updates == 0
