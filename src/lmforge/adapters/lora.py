"""LoRA for encoders with a task head, thin over peft.

The classification head of a new classifier is freshly initialised, so it must be trained and saved with
the adapter (peft ``modules_to_save``). Otherwise a reloaded adapter sits on a new random head and
predicts something else than the trained model did: a well-known peft pitfall. Every newly initialised
module is therefore listed in ``modules_to_save``.
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from lmforge.errors import missing_extra

ADAPTER_DIR = "adapter"


def apply_lora(model: nn.Module, r: int, alpha: int, dropout: float, newly_initialized: list[str],
               task_type: str = "SEQ_CLS") -> nn.Module:
    """Wrap ``model`` with LoRA on its attention projections; new modules are trained in full.
    ``task_type`` names a ``peft.TaskType`` (the task's ``peft_task_type``)."""
    try:
        from peft import LoraConfig, TaskType, get_peft_model
    except ImportError:
        raise missing_extra("--method lora", "lora", "peft") from None
    head_modules = sorted({name.rsplit(".", 1)[0] for name in newly_initialized})
    config = LoraConfig(task_type=TaskType[task_type], r=r, lora_alpha=alpha, lora_dropout=dropout,
                        modules_to_save=head_modules or None)
    return get_peft_model(model, config)


def export_lora(peft_model: nn.Module, directory: Path) -> nn.Module:
    """Save the adapter (peft format) under ``directory/adapter`` and return the merged plain model."""
    peft_model.save_pretrained(directory / ADAPTER_DIR, safe_serialization=True)
    return peft_model.merge_and_unload()
