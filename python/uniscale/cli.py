"""The ``uniscale`` command: ``run`` a question file, ``serve`` an OpenAI-compatible router,
``replay`` recorded outcomes.

This is the only place where logging is configured; the library itself only logs.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["build_parser", "main"]

logger = logging.getLogger(__name__)

PRESETS = ("cost-sensitive", "quality-priority")


def _preset(text: str) -> str:
    # The Python API and ``replay`` spell presets with underscores: accept both spellings.
    return text.strip().lower().replace("_", "-")


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port 1..65535, got {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port 1..65535, got {text!r}")
    return value


def _number(kind: type, low: int, inclusive: bool, expected: str) -> Any:
    """An argparse ``type`` parsing ``kind`` (int or float) that must be finite and ``> low``
    (``>= low`` when ``inclusive``); errors read ``expected <expected>, got '<text>'``."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        # Written so that NaN fails both comparisons.
        ok = value >= low if inclusive else value > low
        if not ok or value == float("inf"):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return parse


_positive_int = _number(int, 1, True, "a positive integer")
_nonneg_int = _number(int, 0, True, "an integer >= 0")
_positive_float = _number(float, 0, False, "a positive number")
_nonneg_float = _number(float, 0, True, "a number >= 0")


def _add_router_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("router")
    g.add_argument(
        "--arms",
        metavar="CONFIG",
        type=Path,
        help="arm-space config (YAML/TOML): models with their engines, strategies, constraints. "
        "Default: the embedded SmolLM2-135M and Gemma-3-270M arm space shipped with uniscale.",
    )
    g.add_argument(
        "--preset",
        type=_preset,
        choices=PRESETS,
        default="cost-sensitive",
        help="reward weights: cost-sensitive (0.1, 0.1, 0.8) or quality-priority (0.4, 0.4, 0.2); "
        "cost_sensitive and quality_priority are accepted too",
    )
    g.add_argument(
        "--budget",
        type=_positive_float,
        metavar="X",
        help="target mean cost per request (in --cost-unit): the router prices cost online so "
        "that the average settles near it",
    )
    g.add_argument("--seed", type=int, default=0, help="seed of the router and the samplers")
    g.add_argument("--load", metavar="DIR", type=Path, help="start from a saved router state")
    g.add_argument("--save", metavar="DIR", type=Path, help="save the router state here")
    g.add_argument(
        "--max-tokens",
        type=_positive_int,
        default=None,
        metavar="N",
        help="most tokens one solution (one beam path) may generate (default 256)",
    )
    g.add_argument(
        "--policy",
        default="linucb",
        choices=("linucb", "disjoint", "thompson", "epsilon_greedy", "greedy", "random"),
        help="routing policy (default linucb)",
    )
    g.add_argument(
        "--warmup",
        type=_nonneg_int,
        default=None,
        metavar="N",
        help="uniform random decisions before the policy takes over (default: one per arm)",
    )
    g.add_argument(
        "--cost-unit",
        default="eflops",
        choices=("eflops", "tokens", "dollars", "seconds"),
        help="the cost the router learns from and --budget is stated in (default eflops)",
    )
    g.add_argument(
        "--fallback",
        type=_nonneg_int,
        default=None,
        metavar="N",
        help="on an engine failure, try up to N other models (default: run 1, serve 0)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``uniscale`` command."""
    parser = argparse.ArgumentParser(
        prog="uniscale",
        description="Joint online model routing and test-time scaling.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    parser.add_argument("--version", action="version", version=f"uniscale {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="answer a question file with online routing",
        description="Answer each question with the arm the router picks; grade it when a gold "
        "answer is known and feed the outcome back, so the router learns as it goes.",
    )
    run.add_argument(
        "questions",
        type=Path,
        metavar="QUESTIONS",
        help="JSONL/JSON/CSV file: question + optional gold (GSM8K, MATH-500, DATE recognized)",
    )
    run.add_argument(
        "--limit", type=_positive_int, metavar="N", help="answer only the first N questions"
    )
    run.add_argument(
        "--kind",
        choices=("math", "number", "date", "choice"),
        help="answer kind for every question (default: detected from the file)",
    )
    run.add_argument(
        "--log",
        type=Path,
        metavar="FILE",
        help="decision log, one JSON line per question (default: a new file "
        "uniscale-run-<YYYYmmdd-HHMMSS>.jsonl in the current directory)",
    )
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_router_options(run)

    serve = sub.add_parser(
        "serve",
        help="serve an OpenAI-compatible routing endpoint",
        description="FastAPI + uvicorn: /v1/chat/completions, /v1/completions, /v1/feedback, "
        "/v1/arms, /v1/models, /health, /metrics. With an API key, /health stays open (status "
        "only) for liveness probes; everything else wants the key.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8000, help="port 1..65535 (default 8000)")
    serve.add_argument(
        "--api-key",
        default=None,
        help="require this key (Authorization: Bearer KEY or X-API-Key: KEY) on every endpoint "
        'except GET /health, which answers {"status": "ok"} without it for liveness '
        "probes; its counters need the key (default: $UNISCALE_API_KEY, else no key)",
    )
    serve.add_argument(
        "--snapshot-every",
        type=_nonneg_float,
        default=300.0,
        metavar="SECONDS",
        help="save the router to --save this often (0: only at shutdown; default 300)",
    )
    _add_router_options(serve)

    replay = sub.add_parser(
        "replay",
        help="replay recorded outcomes (off-line evaluation of routing policies)",
        description="Replay recorded per-(query, arm) outcomes and compare routing policies.",
    )
    try:
        from uniscale.replay.cli import build_parser as replay_parser
    except ImportError as exc:  # replay's optional pieces missing: say so when it is used
        logger.debug("uniscale.replay.cli unavailable: %s", exc)
        replay.add_argument("replay_args", nargs=argparse.REMAINDER)
    else:
        replay_parser(replay)
    return parser


def _configure_logging(verbose: int, quiet: bool) -> None:
    if quiet:
        level = logging.WARNING
    elif verbose >= 1:
        level = logging.DEBUG if verbose >= 2 else logging.INFO
    else:
        level = logging.WARNING
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``uniscale`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    _configure_logging(args.verbose, args.quiet)
    if args.command == "replay":
        argv_list = list(sys.argv[1:] if argv is None else argv)
        return _replay(argv_list[argv_list.index("replay") + 1 :])
    try:
        if args.command == "run":
            from uniscale.runner.cli import run_command

            return run_command(args)
        if args.command == "serve":
            return _serve(args)
    except (ValueError, OSError) as exc:
        # Bad input is the user's to fix: one clear line, no traceback.
        print(f"uniscale {args.command}: error: {exc}", file=sys.stderr)
        return 2
    parser.error(f"unknown command {args.command!r}")
    return 2


def _replay(argv: list[str]) -> int:
    try:
        from uniscale.replay import cli as replay_cli
    except ImportError as exc:
        print(f"uniscale replay: not available ({exc})", file=sys.stderr)
        return 2
    return int(replay_cli.replay_main(list(argv)) or 0)


def _check_bindable(host: str, port: int) -> None:
    """Raise OSError naming --host/--port when uvicorn could not listen there (checked before
    the models load, which takes seconds)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as exc:
        raise OSError(f"--host {host!r}: cannot resolve it ({exc})") from None
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        # uvicorn sets SO_REUSEADDR too: a port in TIME_WAIT is usable, one in use is not.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            raise OSError(
                f"--port {port}: cannot listen on {host}:{port} ({exc.strerror or exc})"
            ) from None


def _serve(args: Any) -> int:
    import uvicorn

    from uniscale.runner.setup import make_pipeline
    from uniscale.server.app import ServeConfig, create_app

    _check_bindable(args.host, args.port)
    api_key = args.api_key if args.api_key is not None else os.environ.get("UNISCALE_API_KEY")
    pipeline = make_pipeline(
        arms=args.arms,
        preset=args.preset,
        budget=args.budget,
        seed=args.seed,
        load=args.load,
        fallback=0 if args.fallback is None else args.fallback,
        max_tokens=args.max_tokens,
        warmup=args.warmup,
        policy=args.policy,
        cost_unit=args.cost_unit,
    )
    config = ServeConfig(
        api_key=api_key or None,
        save_dir=args.save,
        snapshot_every_s=args.snapshot_every,
        default_max_tokens=pipeline.default_max_tokens,
    )
    if args.host not in ("127.0.0.1", "localhost", "::1") and config.api_key is None:
        logger.warning(
            "serving on %s without an API key: anyone who can reach it may use it", args.host
        )
    app = create_app(pipeline, config)
    print(
        f"uniscale serve: {len(pipeline.arms())} arms over {pipeline.model_names()}, preset "
        f"{args.preset}; OpenAI base URL http://{args.host}:{args.port}/v1"
        + (" (API key required)" if config.api_key else "")
        + (f"; snapshots to {args.save}" if args.save else ""),
        flush=True,
    )
    uvicorn.run(
        app, host=args.host, port=args.port, log_level="info" if args.verbose else "warning"
    )
    return 0


def _version() -> str:
    from uniscale import __version__

    return __version__


if __name__ == "__main__":  # pragma: no cover - python -m uniscale.cli
    raise SystemExit(main())
