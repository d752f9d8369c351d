"""What a compressed artifact costs and keeps: accuracy, size on disk, sentences/s at batch 32, p50 latency.

Timings on a shared CPU drift by tens of percent from minute to minute, so a child is always timed in the
same process as its parent, in alternating rounds, and the manifest records both and their ratio: the
ratio is the number to trust.

    >>> report = measure_pair({"parent": p, "child": c}, texts, labels)
    >>> report["child"]["sentences_per_s_b32"], ratios(report["child"], report["parent"])
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lmforge.inference.throughput import texts_per_second
from lmforge.tasks import get_task

WEIGHT_FILES = ("model.onnx", "model.onnx.data", "model.safetensors")
THROUGHPUT_BATCH = 32
LATENCY_TEXTS = 100


def size_on_disk_mb(model_dir: Path) -> float:
    """MB of the weights (the graph for ONNX); tokenizer and config files are the same for every variant."""
    total = sum((model_dir / name).stat().st_size for name in WEIGHT_FILES if (model_dir / name).exists())
    return round(total / 1e6, 2)


def sentences_per_second(predictor, texts: Sequence[str], batch: int = THROUGHPUT_BATCH) -> float:
    """Texts/s through ``predictor`` (tokenization included) in length-sorted batches of ``batch``."""
    saved = predictor.max_batch, predictor.max_tokens
    predictor.max_batch, predictor.max_tokens = batch, batch * predictor.max_length  # the batch size decides
    try:
        predictor.logits(texts[:batch])  # warm-up: first-run allocations and ORT's lazy initialisation
        return texts_per_second(predictor.logits, texts)[0]
    finally:
        predictor.max_batch, predictor.max_tokens = saved


def p50_latency_ms(predictor, texts: Sequence[str]) -> float:
    """Median milliseconds to classify one text (a request of one sentence), tokenization included."""
    predictor.logits(texts[:1])
    times = []
    for text in texts:
        start = time.perf_counter()
        predictor.logits([text])
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def measure_pair(predictors: dict, texts: Sequence[str], labels: np.ndarray | None, *, speed_texts: int = 512,
                 rounds: int = 3, progress: bool = True, task=None) -> dict[str, dict]:
    """Accuracy, throughput and latency of each named predictor, timed in alternating rounds (median kept).

    ``labels`` are label ids in each predictor's label order (all predictors share one label order);
    ``task`` (default: text classification) scores the outputs and says when two models agree.
    """
    task = task or get_task(None)
    from tqdm.auto import tqdm

    speed_sample = list(texts[:speed_texts])
    latency_sample = list(texts[:LATENCY_TEXTS])
    out: dict[str, dict] = {}
    logits: dict[str, np.ndarray] = {}
    for name, predictor in predictors.items():
        logits[name] = predictor.logits(list(texts))
        out[name] = {"examples": len(texts)}
        if labels is not None:
            out[name]["accuracy"] = round(task.score(logits[name], labels), 5)
    throughput: dict[str, list[float]] = {name: [] for name in predictors}
    latency: dict[str, list[float]] = {name: [] for name in predictors}
    steps = tqdm(total=rounds * len(predictors), desc="timing", unit="run", disable=not progress, leave=False)
    for _ in range(rounds):
        for name, predictor in predictors.items():
            throughput[name].append(sentences_per_second(predictor, speed_sample))
            latency[name].append(p50_latency_ms(predictor, latency_sample))
            steps.update(1)
    steps.close()
    first = next(iter(predictors))
    for name in predictors:
        out[name]["sentences_per_s_b32"] = round(statistics.median(throughput[name]), 2)
        out[name]["p50_latency_ms_b1"] = round(statistics.median(latency[name]), 3)
        out[name]["backend"] = predictors[name].backend.name
        if name != first:  # how often the compressed model decides differently from the reference
            out[name]["agreement"] = round(task.agreement(logits[name], logits[first]), 5)
    return out


def ratios(child: dict, parent: dict) -> dict[str, float]:
    """Child over parent: >1 means faster / bigger; the accuracy change is in points."""
    result = {}
    if parent.get("sentences_per_s_b32"):
        result["speedup_b32"] = round(child["sentences_per_s_b32"] / parent["sentences_per_s_b32"], 3)
    if child.get("p50_latency_ms_b1"):
        result["speedup_b1"] = round(parent["p50_latency_ms_b1"] / child["p50_latency_ms_b1"], 3)
    if parent.get("size_mb"):
        result["size"] = round(child["size_mb"] / parent["size_mb"], 3)
    if "accuracy" in child and "accuracy" in parent:
        result["accuracy_change_points"] = round(100 * (child["accuracy"] - parent["accuracy"]), 3)
    return result
