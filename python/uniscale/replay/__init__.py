"""Replay evaluation over recorded outcomes: the trace format, arms, sampling, policies, metrics.

A trace (:mod:`uniscale.replay.trace`) holds, for every query, the samples several
configurations produced. Arms are (configuration, n) with a majority vote over n samples drawn
without replacement, seeded per trial. :func:`run_replay` plays UniScale (LinUCB with joint
features), its routing-only and TTS-only subspaces, bandit baselines, a k-NN router, the MoT
cascade, the best fixed arm and the oracle on the same streams and draws, and
:func:`write_report` writes the table, the JSON and the plots.

Heavy or optional parts (matplotlib, rich, the router's featurizers) load on use.
"""

from __future__ import annotations

from uniscale.replay.arms import DEFAULT_N_GRID, ReplayArm, build_arms, routing_only, tts_only
from uniscale.replay.experiment import PRESETS, ReplayConfig, ReplayResult, run_replay
from uniscale.replay.mot_cascade import convert_mot_cascade
from uniscale.replay.outcomes import SampledOutcomes, TraceArrays, sample_outcomes
from uniscale.replay.report import write_report
from uniscale.replay.steps import RewardWeights
from uniscale.replay.trace import (
    Outcome,
    Trace,
    TraceConfig,
    TraceError,
    TraceModel,
    TraceQuery,
    load_trace,
    save_trace,
)

__all__ = [
    "DEFAULT_N_GRID",
    "PRESETS",
    "Outcome",
    "ReplayArm",
    "ReplayConfig",
    "ReplayResult",
    "RewardWeights",
    "SampledOutcomes",
    "Trace",
    "TraceArrays",
    "TraceConfig",
    "TraceError",
    "TraceModel",
    "TraceQuery",
    "build_arms",
    "convert_mot_cascade",
    "load_trace",
    "routing_only",
    "run_replay",
    "sample_outcomes",
    "save_trace",
    "tts_only",
    "write_report",
]
