"""Build a :class:`~uniscale.runner.pipeline.Pipeline` from command-line settings."""

from __future__ import annotations

import logging
from pathlib import Path

from uniscale.runner.pipeline import Pipeline, default_arms_path

__all__ = ["make_pipeline", "PRESET_NAMES"]

logger = logging.getLogger(__name__)

#: Command-line spelling -> the router's reward preset name.
PRESET_NAMES = {
    "cost-sensitive": "cost_sensitive",
    "quality-priority": "quality_priority",
    "cost_sensitive": "cost_sensitive",
    "quality_priority": "quality_priority",
}


def make_pipeline(
    *,
    arms: str | Path | None = None,
    preset: str = "cost-sensitive",
    budget: float | None = None,
    seed: int = 0,
    load: str | Path | None = None,
    fallback: int = 0,
    max_tokens: int | None = None,
    warmup: int | None = None,
    policy: str = "linucb",
    cost_unit: str = "eflops",
) -> Pipeline:
    """A pipeline over a fresh router (from ``arms`` or the shipped default) or a loaded one.

    Parameters
    ----------
    arms : path, optional
        Arm-space config (YAML/TOML); default :func:`default_arms_path`. Not allowed with
        ``load``: a saved router holds its own arm space.
    preset : str
        Reward preset: ``cost-sensitive`` or ``quality-priority``.
    budget : float, optional
        Target mean cost per request, in ``cost_unit``.
    seed : int
    load : path, optional
        Directory written by :meth:`Router.save` (or ``--save``). The loaded router keeps its
        saved arm space, reward, budget, policy and seed; the arguments for those are ignored
        (with a warning when they differ from the defaults).
    fallback : int
        Other models to try when an engine fails.
    max_tokens : int, optional
        Default generation budget (256 when None).
    warmup : int, optional
        Uniform random decisions before the policy takes over; default one per arm.
    policy : str
        Router policy name (``linucb`` ...).
    cost_unit : {"eflops", "tokens", "dollars", "seconds"}
        What the router is told a request cost.
    """
    from uniscale.router import ArmSpace, Router

    preset = str(preset).strip().lower()
    if preset not in PRESET_NAMES:
        raise ValueError(
            f"make_pipeline: preset must be one of {sorted(PRESET_NAMES)}, got {preset!r}"
        )
    if load is not None:
        # TODO(uniscale): a loaded router keeps the engine specs it was saved with; there is no
        # way yet to point a restored router at servers that moved (--arms with --load).
        if arms is not None:
            raise ValueError(
                "make_pipeline: give --arms or --load, not both: a saved router holds its own "
                "arm space"
            )
        load_dir = Path(load)
        if not load_dir.is_dir():
            what = "is a file" if load_dir.exists() else "does not exist"
            raise ValueError(
                f"--load {str(load_dir)!r}: {what}; expected a directory written by --save"
            )
        try:
            router = Router.load(load_dir)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(
                f"--load {str(load_dir)!r}: cannot restore the router: {_why(exc)}"
            ) from None
        logger.info("router loaded from %s (%s arms)", load, router.n_arms)
        ignored = [
            name
            for name, value, default in (
                ("budget", budget, None),
                ("warmup", warmup, None),
                ("policy", policy, "linucb"),
                ("preset", PRESET_NAMES[preset], "cost_sensitive"),
            )
            if value != default
        ]
        if ignored:
            logger.warning(
                "the router loaded from %s keeps its saved settings; ignored: %s",
                load,
                ", ".join(ignored),
            )
    else:
        path = Path(arms) if arms is not None else default_arms_path()
        if path.is_dir():
            raise ValueError(f"--arms {str(path)!r}: is a directory; expected a YAML/TOML file")
        if not path.is_file():
            raise ValueError(f"--arms {str(path)!r}: no such file")
        try:
            space = ArmSpace.from_file(path)
        except Exception as exc:
            # Any failure to read or parse the user's file (YAML/TOML syntax, a bad value, an
            # unreadable file) is one line naming the option, never a traceback.
            raise ValueError(f"--arms {str(path)!r}: {_why(exc)}") from None
        router = Router(
            space,
            policy=policy,
            reward=PRESET_NAMES[preset],
            budget=budget,
            seed=seed,
            warmup=len(space) if warmup is None else warmup,
        )
    return Pipeline(
        router=router,
        fallback=fallback,
        default_max_tokens=256 if max_tokens is None else max_tokens,
        cost_unit=cost_unit,
    )


def _why(exc: BaseException) -> str:
    """One line: the exception's message (its type's name when it has none), newlines folded."""
    text = " ".join(str(exc).split())
    if text and isinstance(exc, (ValueError, OSError)):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
