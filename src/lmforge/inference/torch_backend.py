"""The torch backend: a transformers model of the artifact's task in eval mode, fp32 on CPU (bf16 autocast
on a GPU). For BERT-family sequence classifiers the last layer runs for [CLS] only (same logits, less work).

    >>> backend = TorchBackend(Path("runs/sst2"))
    >>> backend.forward({"input_ids": ids, "attention_mask": mask})   # (B, num_labels) float32
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# torch is imported when a torch backend is built, not here: the backend table imports this module, and
# predicting with ONNX (or lmforge.inference.quick's NumPy path) must not pay for importing torch.


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def has_torch_weights(model_dir: Path) -> bool:
    return (model_dir / "model.safetensors").exists() and (model_dir / "config.json").exists()


class TorchBackend:
    """A transformers model in eval mode. ``task`` (default: the artifact's) decides which model class loads."""

    name = "torch"

    def __init__(self, model_dir: Path, device: str | None = None, model=None, task=None):
        from lmforge.models.cls_forward import supports_cls_forward
        from lmforge.tasks import task_for_artifact

        self.device = device or default_device()
        self.task = task or task_for_artifact(model_dir)
        if model is None:
            model = self.task.load_model(model_dir)
        self.model = model.to(self.device).eval()
        config = self.model.config
        self.labels = [config.id2label[i] for i in range(config.num_labels)]
        self.max_positions = getattr(config, "max_position_embeddings", 512)
        # BERT sequence classifiers: the last layer for [CLS] only, same logits
        self.cls_only = self.task.name == "text-classification" and supports_cls_forward(self.model)

    def forward(self, batch: dict[str, torch.Tensor]) -> np.ndarray:
        import torch

        from lmforge.models.cls_forward import cls_logits

        batch = {k: v.to(self.device) for k, v in batch.items()}
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16,
                                                    enabled=self.device.startswith("cuda")):
            if self.cls_only and batch.keys() == {"input_ids", "attention_mask"}:
                logits = cls_logits(self.model, batch["input_ids"], batch["attention_mask"])
            else:
                logits = self.model(**batch).logits
        return logits.float().cpu().numpy()
