"""Forward-pass backends behind one small interface.

A backend is built from an artifact directory and has ``labels``, ``max_positions``, ``name`` and
``forward(batch) -> np.ndarray`` where ``batch`` holds ``input_ids`` and ``attention_mask`` (B, T) torch
tensors and the result is (B, num_labels) float32 logits. Backends register themselves in ``BACKENDS``
with a test that says whether a directory holds an artifact they can run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from lmforge.errors import ArtifactError
from lmforge.models.cls_forward import cls_logits, supports_cls_forward

BACKENDS: dict[str, tuple[Callable[[Path], bool], Callable[..., object]]] = {}


def register_backend(name: str, can_load: Callable[[Path], bool]):
    def decorator(cls):
        BACKENDS[name] = (can_load, cls)
        cls.name = name
        return cls
    return decorator


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


@register_backend("torch", lambda d: (d / "model.safetensors").exists() and (d / "config.json").exists())
class TorchBackend:
    """A transformers sequence classifier in eval mode, fp32 on CPU (bf16 autocast on a GPU)."""

    def __init__(self, model_dir: Path, device: str | None = None, model=None):
        from lmforge.models.pretrained import load_sequence_classifier

        self.device = device or default_device()
        if model is None:
            model, _ = load_sequence_classifier(model_dir)
        self.model = model.to(self.device).eval()
        config = self.model.config
        self.labels = [config.id2label[i] for i in range(config.num_labels)]
        self.max_positions = getattr(config, "max_position_embeddings", 512)
        self.cls_only = supports_cls_forward(self.model)  # BERT: the last layer for [CLS] only, same logits

    @torch.inference_mode()
    def forward(self, batch: dict[str, torch.Tensor]) -> np.ndarray:
        batch = {k: v.to(self.device) for k, v in batch.items()}
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.device.startswith("cuda")):
            if self.cls_only and batch.keys() == {"input_ids", "attention_mask"}:
                logits = cls_logits(self.model, batch["input_ids"], batch["attention_mask"])
            else:
                logits = self.model(**batch).logits
        return logits.float().cpu().numpy()


def load_backend(model_dir: Path, backend: str = "auto", device: str | None = None):
    """The backend ``backend`` for ``model_dir``; ``auto`` picks the first registered one that fits."""
    if backend != "auto":
        if backend not in BACKENDS:
            raise ArtifactError(f"unknown backend '{backend}'; available: {', '.join(BACKENDS)}")
        can_load, cls = BACKENDS[backend]
        if not can_load(model_dir):
            raise ArtifactError(f"{model_dir} holds no artifact the '{backend}' backend can run")
        return cls(model_dir, device)
    for name, (can_load, cls) in reversed(list(BACKENDS.items())):  # later registrations are preferred
        if can_load(model_dir):
            return cls(model_dir, device)
    raise ArtifactError(f"{model_dir} holds no model lmforge can run (expected config.json with "
                        "model.safetensors, or an ONNX export); pass the output directory of `lmforge finetune`")


# Backends in their own files register on import (onnxruntime itself is imported only when a session opens).
from lmforge.inference import onnx_backend, tfidf_backend, torch_int8_backend  # noqa: E402,F401
