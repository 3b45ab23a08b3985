"""Prometheus metrics of the router server, kept in a registry of their own.

A private :class:`prometheus_client.CollectorRegistry` per app (instead of the process-wide default)
lets several apps live in one process -- tests, or a host application embedding the router --
without "duplicated timeseries" errors.
"""

from __future__ import annotations

import logging

__all__ = ["ServerMetrics"]

logger = logging.getLogger(__name__)

_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
_REWARD_BUCKETS = tuple(i / 10 for i in range(11))


class ServerMetrics:
    """Counters, histograms and gauges exposed on ``GET /metrics``.

    Metric names (all prefixed ``uniscale_``): ``decisions_total{arm}``,
    ``request_latency_seconds{endpoint}``, ``arm_latency_seconds{arm}``,
    ``cost_tokens_total{arm}``, ``cost_eflops_total{arm}``, ``cost_dollars_total{arm}``,
    ``reward{arm}``, ``feedback_total{arm}``, ``pending_feedback``,
    ``engine_errors_total{model}``, ``requests_total{endpoint,status}``.
    """

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.decisions = Counter(
            "uniscale_decisions", "Decisions served, by chosen arm", ["arm"], registry=r
        )
        self.request_latency = Histogram(
            "uniscale_request_latency_seconds",
            "Wall time of a request, by endpoint",
            ["endpoint"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.arm_latency = Histogram(
            "uniscale_arm_latency_seconds",
            "Wall time of the strategy run, by arm",
            ["arm"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.cost_tokens = Counter(
            "uniscale_cost_tokens", "Prompt + completion tokens spent, by arm", ["arm"], registry=r
        )
        self.cost_eflops = Counter(
            "uniscale_cost_eflops", "Equivalent FLOPs spent, by arm", ["arm"], registry=r
        )
        self.cost_dollars = Counter(
            "uniscale_cost_dollars", "Dollars spent, by arm", ["arm"], registry=r
        )
        self.reward = Histogram(
            "uniscale_reward",
            "Reward given to the router on feedback, by arm",
            ["arm"],
            buckets=_REWARD_BUCKETS,
            registry=r,
        )
        self.feedback = Counter(
            "uniscale_feedback", "Feedback received, by arm", ["arm"], registry=r
        )
        self.pending_feedback = Gauge(
            "uniscale_pending_feedback", "Decisions waiting for feedback", registry=r
        )
        self.engine_errors = Counter(
            "uniscale_engine_errors", "Engine failures, by model", ["model"], registry=r
        )
        self.requests = Counter(
            "uniscale_requests",
            "HTTP requests, by endpoint and status",
            ["endpoint", "status"],
            registry=r,
        )

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST
