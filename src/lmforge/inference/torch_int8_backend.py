"""Torch dynamic-int8 backend: fp32 safetensors on disk, int8 ``Linear`` layers in memory.

Why not int8 weights on disk: torch's dynamically quantized modules keep packed weights that only a
pickle can store, and lmforge never writes pickles. So a ``--to torch-int8`` artifact holds the parent's
fp32 ``model.safetensors`` plus a recipe in ``manifest.json``::

    "quantization": {"scheme": "torch-dynamic-int8", "dtype": "qint8", "keep_fp32": ["classifier"]}

and this backend applies the recipe at load (``torch.ao.quantization.quantize_dynamic``: weights rounded
per tensor, activations quantized per batch). Quantization is deterministic, so the model a user loads is
bit-for-bit the model that was measured when the artifact was made.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from lmforge.artifacts import read_manifest
from lmforge.inference.torch_backend import TorchBackend

SCHEME = "torch-dynamic-int8"


def is_torch_int8(model_dir: Path) -> bool:
    if not (model_dir / "model.safetensors").exists():
        return False
    return read_manifest(model_dir).get("quantization", {}).get("scheme") == SCHEME


def quantize_linear_layers(model: torch.nn.Module, keep_fp32: tuple[str, ...] = ()) -> torch.nn.Module:
    """``model`` with every ``nn.Linear`` int8-quantized, except modules whose name starts with ``keep_fp32``."""
    import torch
    from torch.ao.quantization import quantize_dynamic

    names = {name for name, module in model.named_modules() if isinstance(module, torch.nn.Linear)
             and not any(name == k or name.startswith(k + ".") for k in keep_fp32)}
    with warnings.catch_warnings():  # torch 2.13 deprecates quantized tensors (in favour of torchao)
        warnings.simplefilter("ignore")
        return quantize_dynamic(model.eval(), names, dtype=torch.qint8)


class TorchInt8Backend(TorchBackend):
    """The torch backend with the manifest's int8 recipe applied. CPU only (quantized kernels are CPU kernels)."""

    name = "torch-int8"

    def __init__(self, model_dir: Path, device: str | None = None, model=None, task=None):
        from lmforge.tasks import task_for_artifact

        recipe = read_manifest(model_dir).get("quantization", {})
        task = task or task_for_artifact(model_dir)
        if model is None:
            model = task.load_model(model_dir)
        model = quantize_linear_layers(model, tuple(recipe.get("keep_fp32", ())))
        super().__init__(model_dir, "cpu", model=model, task=task)

    def forward(self, batch):
        import torch

        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return super().forward(batch)
