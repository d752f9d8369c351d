"""Prometheus metrics of the server, exposed at ``GET /metrics``.

Each app gets its own registry (tests run several apps in one process). With ``--workers N`` the server sets
``PROMETHEUS_MULTIPROC_DIR`` before the workers start; every process then writes its samples to files there
and ``/metrics`` (answered by whichever worker) sums all of them, so a scrape sees the whole server.
"""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 24, 32, 48, 64, 128, 256)


class ServerMetrics:
    """Every metric the server keeps. Thread-safe (the batcher thread reports batch sizes)."""

    def __init__(self):
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("lmforge_requests", "HTTP requests by route and status", ["route", "status"],
                                registry=r)
        self.latency = Histogram("lmforge_request_seconds", "request latency in seconds, by route", ["route"],
                                 buckets=LATENCY_BUCKETS, registry=r)
        self.batch_size = Histogram("lmforge_batch_texts", "texts per inference group (dynamic batch)",
                                    buckets=BATCH_BUCKETS, registry=r)
        self.batch_seconds = Histogram("lmforge_batch_seconds", "time of one inference group in seconds",
                                       buckets=LATENCY_BUCKETS, registry=r)
        self.queue_depth = Gauge("lmforge_queue_depth", "texts waiting for inference", registry=r,
                                 multiprocess_mode="livesum")
        self.texts = Counter("lmforge_texts", "texts classified", registry=r)
        self.tokens = Counter("lmforge_tokens", "tokens classified (after truncation)", registry=r)
        self.key_requests = Counter("lmforge_key_requests", "admitted requests per API key", ["key"], registry=r)
        self.key_texts = Counter("lmforge_key_texts", "texts classified per API key", ["key"], registry=r)
        self.pii_redacted = Counter("lmforge_pii_redacted", "personal data redacted from requests, by kind "
                                    "(--redact-pii)", ["kind"], registry=r)
        self.ready = Gauge("lmforge_ready", "1 when the model is loaded and the server takes requests",
                           registry=r, multiprocess_mode="livemin")

    def exposition(self) -> tuple[bytes, str]:
        """The text exposition format, for every worker process when there are several."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
