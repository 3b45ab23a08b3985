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
        router = Router.load(load)
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
        space = ArmSpace.from_file(arms if arms is not None else default_arms_path())
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
