"""What the server runs for artifacts that are not classifiers: a generator and an embedding encoder.

The artifact's task decides (:func:`artifact_task`): a ``*ForCausalLM`` directory (converted SmolLM2, an SFT
run, a model pretrained by lmforge) is served by a :class:`GenerationService` — the continuous-batching
scheduler of :mod:`lmforge.generation.scheduler` — plus an :class:`EmbeddingService` on the bundled
all-MiniLM-L6-v2 (or ``--embedding-model``), so one server speaks OpenAI chat, completions and embeddings; a
sentence-transformers directory is served by an :class:`EmbeddingService` alone. Embeddings go through the
same :class:`~lmforge.serving.batcher.DynamicBatcher` as classification.

Both bridge their worker thread to the event loop the same way: results are handed over with
``loop.call_soon_threadsafe``, and a request whose client went away is cancelled, freeing its slot.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from lmforge.artifacts import read_manifest
from lmforge.errors import ServingError

CAUSAL_LM, EMBEDDING, CLASSIFICATION = "causal-lm", "embedding", "classification"
TTFT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def artifact_task(model_dir: Path) -> str:
    """causal-lm, embedding or classification, from the manifest or else from the directory's files."""
    task = read_manifest(model_dir).get("task")
    if task in (CAUSAL_LM, "sft", "clm", "text-generation"):
        return CAUSAL_LM
    if task in (EMBEDDING, "feature-extraction"):
        return EMBEDDING
    config = model_dir / "config.json"
    if config.exists():
        architectures = json.loads(config.read_text()).get("architectures") or []
        if any(a.endswith("ForCausalLM") or a.endswith("LMHeadModel") for a in architectures):
            return CAUSAL_LM
    if (model_dir / "modules.json").exists():
        return EMBEDDING
    return CLASSIFICATION


class _Bridge:
    """Events from a worker thread into an asyncio queue of one request."""

    def __init__(self):
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue = asyncio.Queue()

    def __call__(self, event) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, event)


@dataclass
class GenerationService:
    engine: object  # lmforge.generation.engine.GenerationEngine
    scheduler: object  # lmforge.generation.scheduler.GenerationScheduler
    metrics: object | None = None

    @classmethod
    def load(cls, model_dir: Path, config, metrics) -> GenerationService:
        from prometheus_client import Counter, Gauge, Histogram

        from lmforge.generation.engine import GenerationEngine
        from lmforge.generation.scheduler import GenerationScheduler

        engine = GenerationEngine.load(model_dir, int8=config.int8, slots=config.gen_slots,
                                       max_len=config.max_context)
        r = metrics.registry
        metrics.generated_tokens = Counter("lmforge_generated_tokens", "tokens generated", registry=r)
        metrics.prompt_tokens = Counter("lmforge_prompt_tokens", "prompt tokens prefilled", registry=r)
        metrics.ttft = Histogram("lmforge_time_to_first_token_seconds", "time to first token",
                                 buckets=TTFT_BUCKETS, registry=r)
        metrics.running = Gauge("lmforge_running_generations", "generations decoding now", registry=r,
                                multiprocess_mode="livesum")
        scheduler = GenerationScheduler(engine, max_queue=config.max_queue,
                                        on_step=lambda s: (metrics.running.set(s.running),
                                                           metrics.batch_size.observe(max(1, s.running))),
                                        on_queue=metrics.queue_depth.set)
        return cls(engine, scheduler.start(), metrics)

    async def stream(self, prompt: list[int], params, request=None) -> AsyncIterator:
        """Chunks of one generation as they are decoded; cancelled (slot freed) when the consumer stops
        or ``request``'s client disconnects."""
        bridge = _Bridge()
        started = time.perf_counter()
        handle = self.scheduler.submit(prompt, params, bridge)
        self.metrics.prompt_tokens.inc(len(prompt))
        first = True
        try:
            while True:
                try:
                    event = await asyncio.wait_for(bridge.queue.get(), timeout=1.0)
                except asyncio.TimeoutError:
                    if request is not None and await request.is_disconnected():
                        return
                    continue
                if isinstance(event, BaseException):
                    if isinstance(event, ServingError):
                        raise event
                    raise ServingError(f"generation failed ({type(event).__name__}); the server keeps serving",
                                       status=500) from event
                if first:
                    self.metrics.ttft.observe(time.perf_counter() - started)
                    first = False
                if event.token is not None and not event.eos:
                    self.metrics.generated_tokens.inc()
                yield event
                if event.finish_reason is not None:
                    return
        finally:
            handle.cancel()

    def stop(self, timeout: float) -> None:
        self.scheduler.stop(timeout)


@dataclass
class EmbeddingService:
    encoder: object  # lmforge.generation.embeddings.SentenceEncoder
    batcher: object  # lmforge.serving.batcher.DynamicBatcher

    @classmethod
    def load(cls, model_dir: Path | None, config, metrics) -> EmbeddingService:
        from lmforge.generation.embeddings import SentenceEncoder
        from lmforge.serving.batcher import DynamicBatcher

        encoder = SentenceEncoder.load(model_dir)
        # Raw pooled vectors from the batcher; each route normalises as its caller asked.
        batcher = DynamicBatcher(lambda batch: encoder.forward(batch, normalize=False),
                                 encoder.tokenizer.pad_token_id or 0, max_batch_tokens=config.max_batch_tokens,
                                 max_batch_size=config.max_batch_size, max_wait_s=config.max_wait_ms / 1000,
                                 max_queue=config.max_queue)
        return cls(encoder, batcher.start())

    async def embed(self, encoded: list[list[int]], timeout_s: float, normalize: bool):
        import numpy as np

        vectors = await self.batcher.submit(encoded, timeout_s)
        if normalize:
            vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)
        return vectors.astype(np.float32)

    def stop(self, timeout: float) -> None:
        self.batcher.stop(timeout)


def load_services(model_dir: Path, task: str, config, metrics) -> tuple[GenerationService | None,
                                                                        EmbeddingService | None]:
    import torch

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    torch.set_num_threads(config.threads or max(1, cores // config.workers))
    if task == EMBEDDING:
        return None, EmbeddingService.load(model_dir, config, metrics)
    generation = GenerationService.load(model_dir, config, metrics)
    embeddings = None
    if config.embedding_model != "none":
        embeddings = EmbeddingService.load(config.embedding_model, config, metrics)
    return generation, embeddings
