"""Prometheus metrics of one server (prometheus-client), in a registry of its own.

With ``--workers N`` each worker is a process: ``serve`` sets ``PROMETHEUS_MULTIPROC_DIR``
before they start, every worker's values go to files there, and ``/metrics`` (whichever
worker answers) adds them up (prometheus-client's multiprocess mode).
"""

from __future__ import annotations

import os
from typing import Any

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class Metrics:
    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "tether_requests", "Inference requests", ["model", "protocol", "code"], registry=r
        )
        self.latency = Histogram(
            "tether_request_seconds", "Inference request latency", ["model"],
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.batch_rows = Histogram(
            "tether_batch_rows", "Rows per model call", ["model"], buckets=BATCH_BUCKETS,
            registry=r,
        )  # fmt: skip
        self.version = Gauge(
            "tether_model_version", "Version being served", ["model"], registry=r,
            multiprocess_mode="max",
        )  # fmt: skip
        self.reload_failures = Counter(
            "tether_reload_failures", "Versions that failed to load", ["model"], registry=r
        )
        self.log_dropped = Counter(
            "tether_prediction_log_dropped_rows", "Prediction log rows dropped", registry=r
        )
        self.log_written = Counter(
            "tether_prediction_log_rows", "Prediction log rows written", registry=r
        )

    def render(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import CollectorRegistry, multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def child(self, metric: Any, *labels: str) -> Any:
        return metric.labels(*labels)
