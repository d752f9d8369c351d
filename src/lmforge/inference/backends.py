"""Forward-pass backends behind one small interface, and the table that picks one for an artifact.

A backend is built from an artifact directory and has ``labels``, ``max_positions``, ``name`` and
``forward(batch) -> np.ndarray`` where ``batch`` holds ``input_ids`` and ``attention_mask`` (B, T) torch
tensors and the result is the task's float32 logits ((B, num_labels) for a classifier). Each backend lives
in its own module with a test that says whether a directory holds an artifact it can run; ``BACKENDS``
lists them (the backend modules import nothing of this one, so there is no import cycle).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lmforge.errors import ArtifactError
from lmforge.inference.onnx_backend import OnnxBackend, has_onnx_graph
from lmforge.inference.torch_backend import TorchBackend, default_device, has_torch_weights  # noqa: F401
from lmforge.inference.tfidf_backend import TfidfBackend, is_tfidf_artifact
from lmforge.inference.torch_int8_backend import TorchInt8Backend, is_torch_int8

# name → (can it run this directory?, the class). ``auto`` prefers the later entries.
BACKENDS: dict[str, tuple[Callable[[Path], bool], Callable[..., object]]] = {
    "torch": (has_torch_weights, TorchBackend),
    "onnx": (has_onnx_graph, OnnxBackend),
    "torch-int8": (is_torch_int8, TorchInt8Backend),
    "tfidf": (is_tfidf_artifact, TfidfBackend),  # the baseline artifact (lmforge.models.tfidf)
}


def runnable_backends(model_dir: str | Path) -> list[str]:
    """Names of the backends that can run ``model_dir`` (the backend list every stage uses)."""
    return [name for name, (can_load, _) in BACKENDS.items() if can_load(Path(model_dir))]


def load_backend(model_dir: Path, backend: str = "auto", device: str | None = None, task=None):
    """The backend ``backend`` for ``model_dir``; ``auto`` picks the preferred one that fits."""
    model_dir = Path(model_dir)
    if backend != "auto":
        if backend not in BACKENDS:
            raise ArtifactError(f"unknown backend '{backend}'; available: {', '.join(BACKENDS)}")
        can_load, cls = BACKENDS[backend]
        if not can_load(model_dir):
            raise ArtifactError(f"{model_dir} holds no artifact the '{backend}' backend can run")
        return cls(model_dir, device, task=task)
    for name, (can_load, cls) in reversed(list(BACKENDS.items())):
        if can_load(model_dir):
            return cls(model_dir, device, task=task)
    raise ArtifactError(f"{model_dir} holds no model lmforge can run (expected config.json with "
                        "model.safetensors, or an ONNX export); pass the output directory of `lmforge finetune`")
