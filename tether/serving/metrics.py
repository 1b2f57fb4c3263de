"""Prometheus metrics of one server (prometheus-client), in a registry of its own.

With ``--workers N`` each worker is a process: ``serve`` sets ``PROMETHEUS_MULTIPROC_DIR``
before they start, every worker's values go to files there, and ``/metrics`` (whichever
worker answers) adds them up (prometheus-client's multiprocess mode).

Per request, the counts and latencies are kept as plain numbers (``Tally``) and added to the
metrics every ``FLUSH_S`` and before each scrape: prometheus-client takes a lock per call and
scans a histogram's buckets in Python, 1.6 µs of a single-row request's 31 in S1. With
several workers they go straight to the metrics, so that whichever worker answers a scrape
sees every request.
"""

from __future__ import annotations

import asyncio
import os
from bisect import bisect_left
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

        self.tally = Tally(self) if _can_tally() else None
        self._children: dict[tuple[Any, ...], Any] = {}  # without a tally: looked up once

    def count_request(self, model: str, protocol: str, status: int) -> None:
        if self.tally is not None:
            self.tally.request(model, protocol, status)
        else:
            self._child(self.requests, model, protocol, str(status)).inc()

    def observe_latency(self, model: str, seconds: float) -> None:
        if self.tally is not None:
            self.tally.observe(self.latency, model, seconds)
        else:
            self._child(self.latency, model).observe(seconds)

    def observe_batch(self, model: str, rows: int) -> None:
        if self.tally is not None:
            self.tally.observe(self.batch_rows, model, rows)
        else:
            self._child(self.batch_rows, model).observe(rows)

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (metric, *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def render(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        if self.tally is not None:
            self.tally.flush()
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import CollectorRegistry, multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


FLUSH_S = 1.0


def _can_tally() -> bool:
    """Whether a histogram can take counts in bulk (its buckets and sum, internal to
    prometheus-client) and values go to this process's registry (one worker)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return False
    from prometheus_client import Histogram

    probe = Histogram("probe", "", buckets=(1.0,), registry=None)
    return all(hasattr(probe, a) for a in ("_sum", "_buckets", "_upper_bounds"))


class Tally:
    """Request counts and histogram observations waiting to be added to the metrics. Used
    from the event loop only."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._requests: dict[tuple[str, str, int], int] = {}
        # (histogram, label) -> (the child, its bounds, counts per bucket + [sum])
        self._observed: dict[tuple[Any, str], tuple[Any, Any, list[float]]] = {}
        self._pending = False

    def request(self, model: str, protocol: str, status: int) -> None:
        key = (model, protocol, status)
        self._requests[key] = self._requests.get(key, 0) + 1
        if not self._pending:
            self._due()

    def observe(self, histogram: Any, label: str, value: float) -> None:
        entry = self._observed.get((histogram, label))
        if entry is None:
            child = histogram.labels(label)
            bounds = list(child._upper_bounds)
            entry = self._observed[(histogram, label)] = (child, bounds, [0.0] * (len(bounds) + 1))
        counts = entry[2]
        counts[bisect_left(entry[1], value)] += 1  # the first bound >= value, as observe()
        counts[-1] += value
        if not self._pending:
            self._due()

    def _due(self) -> None:
        """A flush ``FLUSH_S`` from now, in the event loop (at once where there is none)."""
        self._pending = True
        try:
            asyncio.get_running_loop().call_later(FLUSH_S, self.flush)
        except RuntimeError:  # not in an event loop
            self.flush()

    def flush(self) -> None:
        self._pending = False
        requests, self._requests = self._requests, {}
        for (model, protocol, status), n in requests.items():
            self._metrics.requests.labels(model, protocol, str(status)).inc(n)
        for child, _bounds, counts in self._observed.values():
            if counts[-1] or any(counts[:-1]):
                child._sum.inc(counts[-1])
                for bucket, k in zip(child._buckets, counts[:-1], strict=False):
                    if k:
                        bucket.inc(k)
                counts[:] = [0.0] * len(counts)
