"""Measured inference throughput of a model artifact on each backend that can run it.

The benchmark is calibrated: a first pass over a sample times one sentence, and the timed run then covers
enough sentences to last ``seconds`` (cycling through the texts), so small and large models get an
equally steady figure. Texts go through :class:`~lmforge.inference.predictor.Predictor` exactly as
``predict`` / ``evaluate`` / ``serve`` run them (tokenization included, length-sorted batches).

    >>> measure_throughput("runs/sst2", "torch", texts, seconds=5)["sentences_per_s"]
    212.4
"""

from __future__ import annotations

import time
from pathlib import Path

from lmforge.artifacts import read_manifest, write_manifest
from lmforge.errors import ArtifactError
from lmforge.inference.throughput import texts_per_second

CALIBRATION_TEXTS = 128


def measure_throughput(model_dir: str | Path, backend: str, texts: list[str], seconds: float = 5.0,
                       quiet: bool = True) -> dict:
    """Sentences per second of ``backend`` on ``model_dir`` over ``texts`` (timed for about ``seconds``)."""
    import torch
    from tqdm.auto import tqdm

    from lmforge.inference.predictor import Predictor

    if not texts:
        raise ArtifactError("no texts to benchmark with; pass --data FILE")
    predictor = Predictor.load(model_dir, backend=backend)
    sample = texts[:CALIBRATION_TEXTS]
    predictor.logits(sample[:16])  # warm-up: allocations, thread pools, kernel choice
    t0 = time.perf_counter()
    predictor.logits(sample)
    per_text = (time.perf_counter() - t0) / len(sample)
    wanted = max(len(sample), int(seconds / max(per_text, 1e-6)))
    chunk = max(len(sample), min(len(texts), 1024))  # length sorting works within a chunk, as in evaluate
    with tqdm(total=wanted, unit="sent", desc=f"benchmark {backend}", disable=quiet, leave=False) as bar:
        rate, elapsed = texts_per_second(predictor.logits, texts, count=wanted, chunk=chunk, progress=bar.update)
    done = wanted
    from lmforge.metering.hardware import hardware_info

    return {"backend": backend, "sentences_per_s": round(done / elapsed, 2), "sentences": done,
            "seconds": round(elapsed, 2), "distinct_texts": len(texts), "torch_threads": torch.get_num_threads(),
            "cpu_model": hardware_info()["cpu_model"], "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "method": "Predictor.logits on chunks of the texts, length-sorted batches, after one warm-up"}


def recorded_throughput(manifest: dict, backend: str) -> dict | None:
    """A throughput measured earlier on this machine (same CPU model), if the manifest holds one."""
    from lmforge.metering.hardware import hardware_info

    record = (manifest.get("throughput") or {}).get(backend)
    if record and record.get("cpu_model") == hardware_info()["cpu_model"] and record.get("sentences_per_s"):
        return record
    return None


def backend_throughput(model_dir: Path, backend: str, texts: list[str], seconds: float, remeasure: bool,
                       quiet: bool = True) -> dict:
    """The recorded throughput of ``backend`` on this machine, or a fresh measurement saved to the manifest."""
    manifest = read_manifest(model_dir)
    if not remeasure and (record := recorded_throughput(manifest, backend)):
        return {**record, "recorded": True}
    record = measure_throughput(model_dir, backend, texts, seconds, quiet)
    if manifest:  # remembered for the next report, beside the model
        manifest.setdefault("throughput", {})[backend] = record
        write_manifest(model_dir, manifest)
    return {**record, "recorded": False}
