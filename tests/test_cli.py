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
        (["serve", "--port", "99999"], "--port: expected a port 1..65535, got '99999'"),
        (["serve", "--port", "0"], "--port: expected a port 1..65535, got '0'"),
        (["serve", "--preset", "cheap_ish"], "invalid choice: 'cheap-ish'"),
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


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _one_line_error(capsys, command: str, *needles: str) -> None:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"uniscale {command}: error: ")
    for needle in needles:
        assert needle in lines[0], (needle, err)


@pytest.mark.parametrize("command", ["run", "serve"])
def test_broken_arm_files_are_one_line_naming_the_option(
    command: str, tmp_path: Path, capsys
) -> None:
    head = ["run", str(EXAMPLES)] if command == "run" else ["serve", "--port", str(_free_port())]
    broken = tmp_path / "broken.yaml"
    broken.write_text("models: [\n  - {name: a\n", encoding="utf-8")
    for arms, why in (
        (broken, "line 2, column 3"),
        (tmp_path / "nope.yaml", "no such file"),
        (tmp_path, "is a directory"),
    ):
        assert main([*head, "--arms", str(arms)]) == 2
        _one_line_error(capsys, command, f"--arms {str(arms)!r}", why)
    assert main([*head, "--load", str(tmp_path / "nowhere")]) == 2
    _one_line_error(capsys, command, "--load", "nowhere", "does not exist")


def test_run_on_a_directory_says_so(tmp_path: Path, capsys) -> None:
    assert main(["run", str(tmp_path)]) == 2
    _one_line_error(capsys, "run", str(tmp_path), "is a directory")


def test_a_busy_port_is_reported_before_the_models_load(tmp_path: Path, capsys) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        # The arm file does not exist either: the port is checked first, before anything loads.
        argv = ["serve", "--port", str(port), "--arms", str(tmp_path / "nope.yaml")]
        assert main(argv) == 2
    _one_line_error(capsys, "serve", f"--port {port}: cannot listen on 127.0.0.1:{port}")


def test_both_preset_spellings_are_accepted() -> None:
    parser = build_parser()
    for command in (["run", "q.jsonl"], ["serve"]):
        for spelling, expected in (
            ("cost_sensitive", "cost-sensitive"),
            ("cost-sensitive", "cost-sensitive"),
            ("quality_priority", "quality-priority"),
        ):
            assert parser.parse_args([*command, "--preset", spelling]).preset == expected


def test_help_documents_the_default_log_and_the_open_health(capsys) -> None:
    for command, needles in (
        ("run", ("uniscale-run-", "current directory")),
        ("serve", ("/health", "liveness")),
    ):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        out = " ".join(capsys.readouterr().out.split())
        assert all(n in out for n in needles), (command, out)


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
        # /health is open to liveness probes but says nothing beyond the status without the key.
        probe = httpx.get(f"http://127.0.0.1:{port}/health")
        assert (probe.status_code, probe.json()) == (200, {"status": "ok"})
        assert httpx.get(f"http://127.0.0.1:{port}/v1/arms").status_code == 401
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert Router.load(state).n_arms == 10


@pytest.mark.slow
@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_an_error_mid_run_saves_counts_it_and_exits_1(tmp_path: Path, capsys) -> None:
    # The decision log lives on a full device: writing the first answered question fails
    # mid-run, after the router has learned from it.
    arms = tmp_path / "arms.yaml"
    arms.write_text(
        'models: [{name: smollm2-135m, engine: "llama:smollm2-135m", params: 135000000}]\n'
        "strategies: [{name: single, kind: single, fixed: {greedy: true}}]\n",
        encoding="utf-8",
    )
    state = tmp_path / "state"
    argv = ["run", str(EXAMPLES), "--arms", str(arms), "--log", "/dev/full", "--save", str(state)]
    assert main([*argv, "--max-tokens", "8", "--no-progress"]) == 1
    captured = capsys.readouterr()
    assert "stopped by an error" in captured.out and "No space left" in captured.out
    assert "1 answered, 1 error (the last one stopped the run)" in captured.out
    router = Router.load(state)
    assert router.n_pending == 0 and router.policy.n_updates == 1
